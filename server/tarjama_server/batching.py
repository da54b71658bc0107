"""The request scheduler: admission by capacity, then batches ordered by request.

Every request first asks for a ``Ticket``: the scheduler estimates how long the
work already queued ahead of it and its own work will take, from throughput it
measures as it runs (tokens a second, a moving average), and refuses the request
at once (``OverloadedError`` with a retry hint) when it could not finish before
its deadline, or within ``max_queue_seconds`` when it has none. The queue is
bounded in seconds of work; a job-count cap (``max_queued_jobs``) stays only as
a memory guard. ``_fits`` is where a token budget per batch plugs in.

An accepted request queues its segments as jobs on its ticket. One worker per
model builds each batch from the tickets in arrival order:

* arrival order (first come, first served) keeps every admission promise: a
  request admitted later never runs ahead of one admitted earlier, so the work
  ahead that admission counted is all the work that will run first. Earliest
  deadline first would let a short-deadline newcomer push accepted requests past
  theirs;
* each request takes at most ``request_share`` of a batch while others wait, so
  a short request behind a 64-text job shares the next batch instead of waiting
  for the whole job; slots nobody else wants are filled (work-conserving);
* a streaming request's first ``early`` jobs go ahead of other requests' later
  jobs, so it shows something within one batch, even under load;
* a retry (repetition guard) keeps its request's place and its segment's order.

Jobs of a request whose deadline passed, or whose caller left, are dropped
before inference. Jobs are only batched with equal decoding settings. Inference
runs on the executor's thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
import math
import time
import traceback
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

from . import metrics
from .engines.base import Generation, GenerationParams, Seq2SeqEngine
from .errors import DeadlineExpiredError, InvalidRequestError, NotReadyError, OverloadedError

log = logging.getLogger(__name__)

# Weight of the newest sample in the moving averages: about the last ten batches
# (or requests) count, so the estimate follows a change of load within seconds.
EMA_WEIGHT = 0.2


@dataclass(frozen=True)
class SchedulerLimits:
    max_batch_size: int = 16
    # Longest a model worker waits for more jobs when the batch is not full.
    max_wait_seconds: float = 0.0
    # Most seconds of work queued (estimated): the queue bound, and the wait
    # bound of a request without a deadline.
    max_queue_seconds: float = 60.0
    # Admit a request only if its estimated finish lies within this share of its
    # remaining deadline: the rest is the margin for estimation error.
    deadline_margin: float = 0.8
    # Most jobs waiting at once: a memory guard beside the bound in seconds of work.
    max_queued_jobs: int = 4096
    # Most of a batch one request takes while others wait (at least one job).
    request_share: float = 0.5
    # Slots of a batch reserved for the first jobs of streaming requests.
    early_share: float = 0.25
    # Most input positions of a batch, padding included (batch size × its longest input):
    # a long segment does not drag fifteen short ones through 250 padded positions.
    max_batch_tokens: int = 4096


@dataclass(frozen=True)
class Calibration:
    """Throughput measured on one full batch before serving, so the first burst is
    admitted by a measured rate, not a guess."""

    tokens_per_second: float
    tokens_per_input_token: float
    tokens_per_char: float


# Measurements by engine, made by the model loader on the real engines (a test's wrapper
# around an engine is not measured: its scheduler starts from the assumed rate).
_CALIBRATIONS: weakref.WeakKeyDictionary[object, Calibration] = weakref.WeakKeyDictionary()


def calibrate(engine: Seq2SeqEngine, text: str, params: GenerationParams, batch_size: int) -> Calibration:
    """Run ``batch_size`` copies of ``text`` as one batch (blocking) and remember the rate for ``engine``."""
    started = time.perf_counter()
    results = engine.generate([text] * batch_size, params)
    seconds = max(time.perf_counter() - started, 1e-6)
    read = max(1, sum(result.input_tokens for result in results))
    work = read + sum(result.output_tokens for result in results)
    measured = Calibration(work / seconds, work / read, engine.count_tokens(text) / max(1, len(text)))
    _CALIBRATIONS[engine] = measured
    log.info(
        "%s: %.0f tokens/s on a batch of %d (%.2f s); %.2f tokens of work per input token",
        engine.info.task.value,
        measured.tokens_per_second,
        batch_size,
        seconds,
        measured.tokens_per_input_token,
    )
    return measured


@dataclass
class RequestStats:
    """What one request cost, for its access log line (filled by the core, read by the transport)."""

    texts: int = 0
    segments: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    queue_seconds: float = 0.0  # from admission until its first job went into a batch
    estimated_seconds: float = 0.0  # admission's estimate of its finish: work ahead + its own


@dataclass(order=True)
class _Job:
    order: int  # the segment's place within its request
    text: str = field(compare=False)
    params: GenerationParams = field(compare=False)
    input_tokens: int = field(compare=False)
    future: asyncio.Future[Generation] = field(compare=False)
    ticket: Ticket = field(compare=False, repr=False)


class Ticket:
    """One request's place in line: its deadline, its estimated and done work, its queued jobs."""

    def __init__(
        self,
        scheduler: BatchScheduler,
        seq: int,
        input_tokens: int,
        deadline: float | None,
        early: int,
        stats: RequestStats | None,
        most_tokens: float | None,
    ) -> None:
        self.scheduler = scheduler
        self.seq = seq
        self.input_tokens = input_tokens
        self.estimated_tokens = scheduler.estimate_tokens(input_tokens, most_tokens)
        self.deadline = deadline  # loop.time() by which the caller wants the answer
        self.early = early
        self.dispatched = 0
        self.done_tokens = 0
        self.stats = stats if stats is not None else RequestStats()
        self.model_seconds = 0.0  # the model's estimate of its finish at admission, before lateness
        self.chars = 0  # text length it was reserved by, before planning (0: admitted on tokens)
        self.checked = True  # whether the capacity check has been made
        self.forced = False
        self.jobs: list[_Job] = []
        self.closed = False
        self._created = time.perf_counter()
        self._next_order = itertools.count()

    @property
    def remaining_tokens(self) -> float:
        queued = sum(job.input_tokens for job in self.jobs) * self.scheduler.tokens_per_input_token
        return max(self.estimated_tokens - self.done_tokens, queued)

    def submit(
        self,
        texts: Sequence[str],
        params: GenerationParams,
        *,
        orders: Sequence[int] | None = None,
        input_tokens: Sequence[int] | None = None,
    ) -> list[asyncio.Future[Generation]]:
        """Queue ``texts`` as jobs; await the futures in any order. ``orders`` places
        them among the request's jobs (a retry passes its segment's order);
        ``input_tokens`` saves counting them again on the event loop."""
        return self.scheduler._submit(self, texts, params, orders, input_tokens)

    def settle(self, input_tokens: int, most_tokens: float | None = None, jobs: int = 0) -> None:
        """Planning is done: replace the length-based estimate with the real token count.
        Raises (and closes the ticket) when the request is too big ever to fit."""
        self.scheduler._settle(self, input_tokens, most_tokens, jobs)

    def close(self, completed: bool = False) -> None:
        """The request is over: withdraw what is still queued. ``completed`` feeds
        the work-per-token estimate with what this request really cost."""
        self.scheduler._close(self, completed)


class BatchScheduler:
    def __init__(
        self,
        engine: Seq2SeqEngine,
        executor: Executor,
        limits: SchedulerLimits,
        *,
        tokens_per_second: float,
        tokens_per_input_token: float = 2.0,
        shared_with: Sequence[BatchScheduler] = (),
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.engine = engine
        self._executor = executor
        self.limits = limits
        # Measured as it runs: tokens (read + written) per second of inference, and
        # tokens of work (read + written, retries included) per input token.
        self.tokens_per_second = tokens_per_second
        self.tokens_per_input_token = tokens_per_input_token
        # How much later than the model predicts calls really finish (>= 1): the time the
        # throughput model cannot see (gRPC, planning, the event loop under a flood of calls).
        self.lateness = 1.0
        # Input tokens per character of text: lets admission judge a call before planning it.
        # A guess until the first call is planned (or calibration measures it).
        self.tokens_per_char = 0.5
        self._chars_measured = False
        measured = _CALIBRATIONS.get(engine)
        if measured is not None:
            self.tokens_per_second = measured.tokens_per_second
            self.tokens_per_input_token = measured.tokens_per_input_token
            self.tokens_per_char, self._chars_measured = measured.tokens_per_char, True
        # Schedulers whose models run on the same inference thread: their queued
        # work is ahead of ours too.
        self._peers: list[BatchScheduler] = [self, *shared_with]
        for peer in shared_with:
            peer._peers.append(self)
        metrics.THROUGHPUT.labels(engine.info.task.value).set(tokens_per_second)
        self._clock = clock
        self._task_label = engine.info.task.value
        self._tickets: dict[int, Ticket] = {}  # in arrival order
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._busy_since: float | None = None  # end of the last batch, while jobs were still waiting

    # -- capacity ------------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Jobs waiting for a batch."""
        return sum(len(ticket.jobs) for ticket in self._tickets.values())

    def own_queued_seconds(self) -> float:
        return sum(t.remaining_tokens for t in self._tickets.values()) / self.tokens_per_second

    def queued_seconds(self) -> float:
        """Estimated seconds of work accepted and not yet done, on this inference thread."""
        return sum(peer.own_queued_seconds() for peer in self._peers)

    def estimate_tokens(self, input_tokens: int, most_tokens: float | None = None) -> float:
        """Tokens of work (read + written, retries included) a request of ``input_tokens``
        is expected to cost; ``most_tokens`` caps it (what its output limits allow)."""
        expected = input_tokens * self.tokens_per_input_token
        return expected if most_tokens is None else min(expected, most_tokens)

    def _limit(self, deadline: float | None) -> float:
        limit = self.limits.max_queue_seconds
        if deadline is not None:
            remaining = deadline - asyncio.get_running_loop().time()
            limit = min(limit, remaining * self.limits.deadline_margin)
        return limit

    def reserve(
        self,
        chars: int,
        deadline: float | None,
        *,
        early: int = 0,
        force: bool = False,
        stats: RequestStats | None = None,
    ) -> Ticket:
        """Admission before any planning, judged on the text's length (``chars``) through
        the measured tokens per character: a refusal costs no tokenizing, and the
        request's work counts as queued while it is planned. ``Ticket.settle`` then
        puts in the real token count. A request that may be too big ever to fit is
        judged after planning, on its real tokens."""
        if self._worker is None:
            raise NotReadyError("the model worker is not running")
        tokens = round(chars * self.tokens_per_char)
        own = self.estimate_tokens(tokens) / self.tokens_per_second
        ahead = self.queued_seconds()
        checked = force or own <= self.limits.max_queue_seconds
        if checked and not force:
            self._refuse_if_late(ahead, own, deadline)
        ticket = self._new_ticket(tokens, deadline, early, stats, None)
        ticket.chars, ticket.checked, ticket.forced = chars, checked, force
        ticket.model_seconds = ahead + own
        ticket.stats.estimated_seconds = (ahead + own) * self.lateness
        return ticket

    def _settle(self, ticket: Ticket, input_tokens: int, most_tokens: float | None, jobs: int) -> None:
        if ticket.chars and input_tokens:
            sample = input_tokens / ticket.chars
            weight = EMA_WEIGHT if self._chars_measured else 1.0  # the first measurement replaces the guess
            self.tokens_per_char += weight * (sample - self.tokens_per_char)
            self._chars_measured = True
        ticket.input_tokens = input_tokens
        ticket.estimated_tokens = self.estimate_tokens(input_tokens, most_tokens)
        if ticket.forced:
            return
        own = ticket.estimated_tokens / self.tokens_per_second
        try:
            if jobs > self.limits.max_queued_jobs:  # would never fit, however long the caller waits
                raise InvalidRequestError(
                    f"this request needs {jobs} {self._task_label} jobs (segments), more than this server's "
                    f"queue holds at all (max_queued_jobs={self.limits.max_queued_jobs}): "
                    "send shorter or fewer texts per request"
                )
            self._refuse_if_too_big(input_tokens, own)
            if not ticket.checked:
                ahead = self.queued_seconds() - own  # everything queued but this request itself
                self._refuse_if_late(ahead, own, ticket.deadline)
                ticket.model_seconds = ahead + own
                ticket.stats.estimated_seconds = (ahead + own) * self.lateness
        except Exception:
            ticket.close()
            raise

    def _refuse_if_too_big(self, input_tokens: int, own: float) -> None:
        if own > self.limits.max_queue_seconds:
            raise InvalidRequestError(
                f"this request is about {own:.0f} s of {self._task_label} work ({input_tokens} input tokens), "
                f"more than this server ever queues ({self.limits.max_queue_seconds:.0f} s, "
                "--max-queue-seconds): split it into smaller requests"
            )

    def _refuse_if_late(self, ahead: float, own: float, deadline: float | None) -> None:
        limit = self._limit(deadline)
        ahead, own = ahead * self.lateness, own * self.lateness
        if ahead + own <= limit:
            return
        if deadline is not None and own > limit:
            # Too short a deadline even for an idle server: waiting would not help, so not "busy".
            raise DeadlineExpiredError(
                f"the deadline leaves {max(limit, 0):.1f} s usable, and this request needs about {own:.1f} s "
                "even on an idle server: give it a longer deadline"
            )
        metrics.REFUSED.labels(self._task_label).inc()
        # Waiting for the queue to drain this long would let a request like this one,
        # with a deadline as long as this one's, finish in time.
        retry_after = max(0.05, ahead + own - limit)
        bound = f"{limit:.1f} s left before its deadline" if deadline is not None else f"{limit:.0f} s wait bound"
        raise OverloadedError(
            f"server busy: about {ahead:.1f} s of {self._task_label} work queued ahead and {own:.1f} s for this "
            f"request, over its {bound}; retry in {retry_after:.1f} s or on another replica",
            retry_after=retry_after,
        )

    def admit(
        self,
        input_tokens: int,
        deadline: float | None,
        *,
        early: int = 0,
        force: bool = False,
        stats: RequestStats | None = None,
        most_tokens: float | None = None,
    ) -> Ticket:
        """A ticket for ``input_tokens`` of input, or ``OverloadedError`` when the
        request could not finish in time. ``force`` skips the check (work that
        belongs to a request already accepted, such as translating its summary)."""
        if self._worker is None:
            raise NotReadyError("the model worker is not running")
        own = self.estimate_tokens(input_tokens, most_tokens) / self.tokens_per_second
        ahead = self.queued_seconds()
        if not force:
            self._refuse_if_too_big(input_tokens, own)
            self._refuse_if_late(ahead, own, deadline)
        ticket = self._new_ticket(input_tokens, deadline, early, stats, most_tokens)
        ticket.model_seconds = ahead + own
        ticket.stats.estimated_seconds += (ahead + own) * self.lateness
        return ticket

    def _new_ticket(
        self,
        input_tokens: int,
        deadline: float | None,
        early: int,
        stats: RequestStats | None,
        most_tokens: float | None,
    ) -> Ticket:
        ticket = Ticket(self, next(self._seq), input_tokens, deadline, early, stats, most_tokens)
        self._tickets[ticket.seq] = ticket
        return ticket

    # -- queue ---------------------------------------------------------------------

    def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._run(), name=f"batcher-{self._task_label}")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None
        for ticket in list(self._tickets.values()):
            self._fail(ticket, NotReadyError("the server is shutting down; retry on another replica"))
        self._tickets.clear()
        metrics.QUEUED_JOBS.labels(self._task_label).set(0)

    def _submit(
        self,
        ticket: Ticket,
        texts: Sequence[str],
        params: GenerationParams,
        orders: Sequence[int] | None,
        input_tokens: Sequence[int] | None,
    ) -> list[asyncio.Future[Generation]]:
        if self._worker is None:
            raise NotReadyError("the model worker is not running")
        if ticket.closed:
            raise RuntimeError("submit on a closed ticket")
        if orders is None and self.queued + len(texts) > self.limits.max_queued_jobs:  # retries always fit
            raise OverloadedError(
                f"the {self._task_label} queue is full ({self.queued} of {self.limits.max_queued_jobs} jobs queued, "
                f"this request needs {len(texts)}); retry with backoff or send a shorter request"
            )
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Generation]] = []
        for index, text in enumerate(texts):
            order = orders[index] if orders is not None else next(ticket._next_order)
            tokens = input_tokens[index] if input_tokens is not None else self.engine.count_tokens(text)
            future: asyncio.Future[Generation] = loop.create_future()
            bisect.insort(ticket.jobs, _Job(order, text, params, tokens, future, ticket))
            futures.append(future)
        metrics.QUEUED_JOBS.labels(self._task_label).set(self.queued)
        self._wakeup.set()
        return futures

    def _close(self, ticket: Ticket, completed: bool) -> None:
        if ticket.closed:
            return
        ticket.closed = True
        for job in ticket.jobs:
            job.future.cancel()
        ticket.jobs.clear()
        self._tickets.pop(ticket.seq, None)
        if completed and ticket.input_tokens and ticket.done_tokens:
            sample = ticket.done_tokens / ticket.input_tokens
            self.tokens_per_input_token += EMA_WEIGHT * (sample - self.tokens_per_input_token)
        if completed and ticket.model_seconds and not ticket.forced:
            # Estimates under a second are mostly fixed overhead: judged against one second.
            taken = time.perf_counter() - ticket._created
            sample = min(10.0, max(1.0, taken / max(ticket.model_seconds, 1.0)))
            self.lateness += EMA_WEIGHT * (sample - self.lateness)
        metrics.QUEUED_JOBS.labels(self._task_label).set(self.queued)

    @staticmethod
    def _fail(ticket: Ticket, error: Exception) -> None:
        for job in ticket.jobs:
            if not job.future.done():
                job.future.set_exception(error)
        ticket.jobs.clear()

    def _drop_dead_jobs(self) -> None:
        """Cancelled jobs (caller left) and jobs past their request's deadline never reach the model."""
        now = asyncio.get_running_loop().time()
        for ticket in self._tickets.values():
            if ticket.deadline is not None and now >= ticket.deadline and ticket.jobs:
                metrics.EXPIRED_JOBS.labels(self._task_label).inc(len(ticket.jobs))
                self._fail(ticket, DeadlineExpiredError("the deadline passed before this request's turn came"))
            ticket.jobs = [job for job in ticket.jobs if not job.future.done()]

    def _fits(self, batch: list[_Job], job: _Job) -> bool:
        """Whether ``job`` may join ``batch``: a free slot, and its padded input within the token budget."""
        if len(batch) >= self.limits.max_batch_size:
            return False
        longest = max([job.input_tokens, *(other.input_tokens for other in batch)])
        return not batch or (len(batch) + 1) * longest <= self.limits.max_batch_tokens

    def _take_batch(self) -> list[_Job]:
        """The next batch: early jobs of streaming requests, then each request's share
        in arrival order, then whatever fills the batch, nearest in length first (less
        padding). All with the params of the first job of the oldest request.

        A streaming request whose first segment has not started yet gets a batch of its
        early jobs alone: a small batch finishes in about the time of one segment, so
        its first event does not wait for a full batch, even under load."""
        self._drop_dead_jobs()
        waiting = [ticket for ticket in self._tickets.values() if ticket.jobs]
        if not waiting:
            return []
        params = waiting[0].jobs[0].params
        size = self.limits.max_batch_size
        batch: list[_Job] = []
        taken: dict[int, int] = {}

        def take(ticket: Ticket, most: int, preference: list[_Job] | None = None) -> None:
            """Up to ``most`` of the ticket's jobs that fit, in segment order or ``preference``'s."""
            chosen: set[int] = set()
            for job in ticket.jobs if preference is None else preference:
                if len(chosen) < most and job.params == params and self._fits(batch, job):
                    batch.append(job)
                    chosen.add(id(job))
            if chosen:
                ticket.jobs = [job for job in ticket.jobs if id(job) not in chosen]
                taken[ticket.seq] = taken.get(ticket.seq, 0) + len(chosen)
                ticket.dispatched += len(chosen)

        early_slots = max(1, math.floor(size * self.limits.early_share))
        starting = [t for t in waiting if t.early and not t.dispatched and t.jobs[0].params == params]
        for ticket in starting or waiting:
            wanted = min(ticket.early - ticket.dispatched, early_slots - len(batch))
            if wanted > 0:
                take(ticket, wanted)

        def by_length(ticket: Ticket) -> list[_Job]:
            """The ticket's jobs in segment order (so each request moves on in order, retries
            included), those within 2x the length of what the batch holds first: similar
            lengths, little padding. An outlier waits for a batch of its own size."""
            anchor = (
                sorted(job.input_tokens for job in batch)[len(batch) // 2] if batch else ticket.jobs[0].input_tokens
            )
            similar = [job for job in ticket.jobs if anchor / 2 <= job.input_tokens <= anchor * 2]
            return similar + [job for job in ticket.jobs if not anchor / 2 <= job.input_tokens <= anchor * 2]

        if not (starting and batch):
            share = max(1, math.floor(size * self.limits.request_share))
            for phase_most in (lambda ticket: share - taken.get(ticket.seq, 0), lambda ticket: size):
                for ticket in waiting:
                    if ticket.jobs:
                        take(ticket, phase_most(ticket), by_length(ticket))
        now = time.perf_counter()
        for ticket in waiting:
            if ticket.seq in taken and ticket.dispatched == taken[ticket.seq]:  # its first batch
                ticket.stats.queue_seconds += now - ticket._created
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            if self.limits.max_wait_seconds and self.queued < self.limits.max_batch_size:
                await asyncio.sleep(self.limits.max_wait_seconds)  # let concurrent requests join the batch
            batch = self._take_batch()
            if not self.queued:
                self._wakeup.clear()
            metrics.QUEUED_JOBS.labels(self._task_label).set(self.queued)
            if not batch:
                continue
            await self._run_batch(loop, batch)

    async def _run_batch(self, loop: asyncio.AbstractEventLoop, batch: list[_Job]) -> None:
        started = self._clock()
        try:
            results = await loop.run_in_executor(
                self._executor, self.engine.generate, [job.text for job in batch], batch[0].params
            )
        except Exception as error:
            # Type and frames only: the error's message may quote the input, and article text never goes to the log.
            log.error(
                "%s batch of %d failed; retrying its jobs one by one: %s\n%s",
                self._task_label,
                len(batch),
                type(error).__name__,
                "".join(traceback.format_tb(error.__traceback__)),
            )
            await self._run_one_by_one(batch, error)
            return
        ended = self._clock()
        metrics.BATCH_SIZE.labels(self._task_label).observe(len(batch))
        metrics.BATCH_SECONDS.labels(self._task_label).observe(ended - started)
        longest = max(result.input_tokens for result in results)
        metrics.PADDED_INPUT_TOKENS.labels(self._task_label).inc(longest * len(results))
        work = sum(result.input_tokens + result.output_tokens for result in results)
        # While work is waiting, measure from the end of the previous batch: the gap between
        # batches (planning, gRPC, refusals on the event loop) is part of the service time.
        since = started if self._busy_since is None else self._busy_since
        self._record_throughput(work, ended - since, full=len(batch) >= self.limits.max_batch_size)
        self._busy_since = ended if self.queued else None
        for job, result in zip(batch, results, strict=True):
            metrics.TOKENS.labels(self._task_label, "input").inc(result.input_tokens)
            metrics.TOKENS.labels(self._task_label, "output").inc(result.output_tokens)
            job.ticket.done_tokens += result.input_tokens + result.output_tokens
            if not job.future.done():
                job.future.set_result(result)

    async def _run_one_by_one(self, batch: list[_Job], batch_error: Exception) -> None:
        """After a batch failed: run each of its jobs alone, so that only a job that
        fails again (the bad input) fails its request, and the others still succeed."""
        loop = asyncio.get_running_loop()
        if len(batch) == 1:
            if not batch[0].future.done():
                batch[0].future.set_exception(batch_error)
            return
        for job in batch:
            if job.future.done():
                continue  # withdrawn meanwhile
            try:
                (result,) = await loop.run_in_executor(self._executor, self.engine.generate, [job.text], job.params)
            except Exception as error:
                log.error("%s job failed on its own: %s", self._task_label, type(error).__name__)
                if not job.future.done():
                    job.future.set_exception(error)
                continue
            job.ticket.done_tokens += result.input_tokens + result.output_tokens
            if not job.future.done():
                job.future.set_result(result)

    def _record_throughput(self, work: int, seconds: float, *, full: bool) -> None:
        """Every batch counts, small ones too: a batch runs at the rate the current mix
        of work allows (retries with n-gram blocking are slower per token, a lone
        segment is slower than a full batch). Erring slow refuses a little early;
        erring fast lets accepted calls die at their deadline."""
        if seconds <= 0 or work <= 0:
            return
        sample = work / seconds
        self.tokens_per_second += EMA_WEIGHT * (sample - self.tokens_per_second)
        metrics.THROUGHPUT.labels(self._task_label).set(self.tokens_per_second)
        log.debug(
            "%s: %d tokens in %.3f s (%s batch): %.0f tokens/s; estimate %.0f tokens/s, %.2f per input token",
            self._task_label,
            work,
            seconds,
            "full" if full else "partial",
            sample,
            self.tokens_per_second,
            self.tokens_per_input_token,
        )
