"""Which queued jobs make the next batch: a pure function of the queue and the time.

``next_batch`` reads the open tickets in arrival order and changes nothing; the
scheduler applies what it returns. Its rules:

* arrival order (first come, first served) keeps every admission promise: a request
  admitted later never runs ahead of one admitted earlier, so the work ahead that
  admission counted is all the work that will run first. Earliest deadline first would
  let a short-deadline newcomer push accepted requests past theirs;
* each request takes at most ``request_share`` of a batch while others wait, so a
  short request behind a 64-text job shares the next batch instead of waiting for the
  whole job; slots nobody else wants are filled (work-conserving);
* a streaming request's first ``early`` jobs go ahead of other requests' later jobs, in
  a batch of their own when its first segment has not started yet: a small batch
  finishes in about the time of one segment, so its first event does not wait for a
  full batch, even under load;
* a batch holds at most ``max_batch_tokens`` input positions, padding included, and is
  filled with jobs within 2x of the lengths it holds first (little padding);
* jobs are only batched with equal decoding settings: those of the oldest request's
  first job;
* a retry (repetition guard) keeps its request's place and its segment's order, since
  each ticket's jobs are kept in segment order;
* jobs of a request whose deadline passed never reach the model;
* with several model workers idle, a batch takes its share of the queue
  (``spread_over``), so one request's segments run on every idle worker at once
  instead of one full batch on one worker and a scrap on the next.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .limits import SchedulerLimits
from .tickets import Job, Ticket


@dataclass(frozen=True)
class Batch:
    jobs: list[Job]  # in batch order
    expired: list[Ticket]  # past their deadline: their queued jobs are to be failed, not run


def fits(batch: Sequence[Job], job: Job, limits: SchedulerLimits) -> bool:
    """Whether ``job`` may join ``batch``: a free slot, and its padded input within the token budget."""
    if len(batch) >= limits.max_batch_size:
        return False
    longest = max([job.input_tokens, *(other.input_tokens for other in batch)])
    return not batch or (len(batch) + 1) * longest <= limits.max_batch_tokens


def by_length(jobs: Sequence[Job], batch: Sequence[Job]) -> list[Job]:
    """``jobs`` in segment order (so each request moves on in order, retries included),
    those within 2x of the median length the batch holds first (of the first job's, for
    an empty batch): similar lengths, little padding. An outlier waits for a batch of its size."""
    anchor = sorted(job.input_tokens for job in batch)[len(batch) // 2] if batch else jobs[0].input_tokens
    similar = [job for job in jobs if anchor / 2 <= job.input_tokens <= anchor * 2]
    return similar + [job for job in jobs if not anchor / 2 <= job.input_tokens <= anchor * 2]


def spread_over(limits: SchedulerLimits, *, queued: int, idle_workers: int) -> SchedulerLimits:
    """The limits of the next batch when ``idle_workers`` (this one included) are free and
    ``queued`` jobs wait: at most an even share of the queue per idle worker, never more
    than ``max_batch_size``. Under load the queue is long and every batch is full."""
    share = max(1, math.ceil(queued / max(1, idle_workers)))
    if share >= limits.max_batch_size:
        return limits
    return replace(limits, max_batch_size=share)


def _expired(ticket: Ticket, now: float) -> bool:
    return ticket.deadline is not None and now >= ticket.deadline


def next_batch(tickets: Sequence[Ticket], now: float, limits: SchedulerLimits) -> Batch:
    """The next batch from ``tickets`` (open, in arrival order, holding only live jobs) at ``now``."""
    expired = [ticket for ticket in tickets if ticket.jobs and _expired(ticket, now)]
    waiting = [ticket for ticket in tickets if ticket.jobs and not _expired(ticket, now)]
    if not waiting:
        return Batch([], expired)
    params = waiting[0].jobs[0].params
    size = limits.max_batch_size
    batch: list[Job] = []
    left: dict[int, list[Job]] = {}  # the jobs not chosen yet of each ticket that gave some
    taken: dict[int, int] = {}

    def remaining(ticket: Ticket) -> list[Job]:
        return left.get(ticket.seq, ticket.jobs)

    def take(ticket: Ticket, most: int, candidates: list[Job]) -> None:
        """Up to ``most`` of ``candidates`` (the ticket's jobs) that fit, in that order."""
        chosen: list[Job] = []
        for job in candidates:
            if len(chosen) < most and job.params == params and fits(batch, job, limits):
                batch.append(job)
                chosen.append(job)
        if chosen:
            ids = {id(job) for job in chosen}
            left[ticket.seq] = [job for job in remaining(ticket) if id(job) not in ids]
            taken[ticket.seq] = taken.get(ticket.seq, 0) + len(chosen)

    early_slots = max(1, math.floor(size * limits.early_share))
    starting = [t for t in waiting if t.early and not t.dispatched and t.jobs[0].params == params]
    for ticket in starting or waiting:
        wanted = min(ticket.early - ticket.dispatched, early_slots - len(batch))
        if wanted > 0:
            take(ticket, wanted, remaining(ticket))
    if not (starting and batch):  # a streaming request's first segments go alone
        share = max(1, math.floor(size * limits.request_share))
        for phase in ("share", "fill"):
            for ticket in waiting:
                most = share - taken.get(ticket.seq, 0) if phase == "share" else size
                if len(batch) >= size:
                    return Batch(batch, expired)  # full: nothing more fits
                if most > 0 and remaining(ticket):
                    take(ticket, most, by_length(remaining(ticket), batch))
    return Batch(batch, expired)
