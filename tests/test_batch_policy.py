"""The batch policy as a pure function: tickets in, a batch decision out, nothing changed.
No threads and no running event loop (futures are made on a loop that never runs)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence

import pytest
from tarjama_server.core.batch_policy import next_batch, spread_over
from tarjama_server.core.limits import SchedulerLimits
from tarjama_server.core.tickets import Job, Ticket
from tarjama_server.engines.base import GenerationParams

GREEDY = GenerationParams(num_beams=1)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    created = asyncio.new_event_loop()
    yield created
    created.close()


class Queue:
    """Tickets in arrival order, each with jobs named by text."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.tickets: list[Ticket] = []

    def add(
        self,
        texts: Sequence[str],
        *,
        tokens: Sequence[int] | None = None,
        params: GenerationParams = GREEDY,
        early: int = 0,
        deadline: float | None = None,
    ) -> Ticket:
        ticket = Ticket(len(self.tickets), created=0.0, deadline=deadline, early=early)
        for order, text in enumerate(texts):
            size = tokens[order] if tokens is not None else 1
            ticket.jobs.append(Job(order, text, params, size, self.loop.create_future(), ticket))
        self.tickets.append(ticket)
        return ticket


def chosen(queue: Queue, now: float = 0.0, **limits: float) -> list[str]:
    return [job.text for job in next_batch(queue.tickets, now, SchedulerLimits(**limits)).jobs]


def named(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(count)]


def test_nothing_queued_is_an_empty_batch(loop) -> None:
    queue = Queue(loop)
    queue.add([])
    assert chosen(queue) == []


def test_a_request_takes_its_share_and_the_next_one_comes_along(loop) -> None:
    queue = Queue(loop)
    queue.add(named("L", 20))
    queue.add(["s0", "s1"])
    assert chosen(queue, max_batch_size=8, request_share=0.5) == ["L0", "L1", "L2", "L3", "s0", "s1", "L4", "L5"]


def test_arrival_order_decides_who_goes_first(loop) -> None:
    queue = Queue(loop)
    queue.add(named("a", 3))
    queue.add(named("b", 3))
    assert chosen(queue, max_batch_size=4, request_share=1.0) == ["a0", "a1", "a2", "b0"]


def test_a_streaming_requests_first_segment_runs_in_a_batch_of_its_own(loop) -> None:
    queue = Queue(loop)
    queue.add(named("L", 12))
    streaming = queue.add(["s0", "s1", "s2"], early=1)
    assert chosen(queue, max_batch_size=4, request_share=1.0, early_share=0.25) == ["s0"]
    # Once its first segment has gone, the rest waits its turn behind the earlier request.
    streaming.jobs.pop(0)
    streaming.dispatched = 1
    assert chosen(queue, max_batch_size=4, request_share=1.0, early_share=0.25) == ["L0", "L1", "L2", "L3"]


def test_only_jobs_with_the_oldest_requests_settings_share_a_batch(loop) -> None:
    queue = Queue(loop)
    queue.add(["a", "b"])
    queue.add(["c"], params=GenerationParams(num_beams=4))
    queue.add(["d"])
    assert chosen(queue, max_batch_size=8) == ["a", "b", "d"]


def test_a_batch_keeps_within_the_token_budget_and_similar_lengths_ride_together(loop) -> None:
    queue = Queue(loop)
    queue.add(["a", "long", "c", "e", "g", "i"], tokens=[3, 16, 3, 3, 3, 4])
    # 16 tokens: with it at most 2 jobs fit 40 padded positions; the short ones go together.
    assert chosen(queue, max_batch_size=4, max_batch_tokens=40, request_share=1.0) == ["a", "c", "e", "g"]


def test_jobs_of_a_request_past_its_deadline_are_expired_not_batched(loop) -> None:
    queue = Queue(loop)
    late = queue.add(["late0", "late1"], deadline=10.0)
    queue.add(["on time"], deadline=30.0)
    decision = next_batch(queue.tickets, 10.0, SchedulerLimits())
    assert [job.text for job in decision.jobs] == ["on time"]
    assert decision.expired == [late]
    assert chosen(queue, now=9.9) == ["late0", "late1", "on time"]


def test_the_policy_changes_nothing(loop) -> None:
    queue = Queue(loop)
    queue.add(named("L", 20), early=2)
    queue.add(["s0", "s1"], deadline=5.0)
    before = [(ticket.dispatched, [job.text for job in ticket.jobs]) for ticket in queue.tickets]
    first = chosen(queue, max_batch_size=8)
    assert chosen(queue, max_batch_size=8) == first  # the same queue gives the same batch
    assert [(ticket.dispatched, [job.text for job in ticket.jobs]) for ticket in queue.tickets] == before


def test_idle_workers_share_a_short_queue_and_a_long_one_fills_every_batch(loop) -> None:
    limits = SchedulerLimits(max_batch_size=16)
    # One request of 20 segments, two idle workers: 10 each rather than 16 and a scrap of 4.
    assert spread_over(limits, queued=20, idle_workers=2).max_batch_size == 10
    assert spread_over(limits, queued=10, idle_workers=1).max_batch_size == 10
    assert spread_over(limits, queued=3, idle_workers=4).max_batch_size == 1
    assert spread_over(limits, queued=320, idle_workers=2) == limits  # under load: full batches
    queue = Queue(loop)
    queue.add([f"a{i}" for i in range(20)])
    batch = next_batch(queue.tickets, 0.0, spread_over(limits, queued=20, idle_workers=2))
    assert [job.text for job in batch.jobs] == [f"a{i}" for i in range(10)]
