"""The request scheduler on an event loop, driven as the pipelines drive it (reserve,
settle, submit, close), with a recording engine; and its steps driven synchronously
(``schedule`` a batch, ``apply`` an outcome), at the end. The pure pieces have tests of
their own: test_admission.py and test_batch_policy.py.

Order is made deterministic by gating: the engine blocks on a threading.Event
inside its first batch, the test waits (in a thread) until that batch has
started, queues what it wants, then opens the gate. No sleeps."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from tarjama_server.core.admission import Calibration
from tarjama_server.core.limits import SchedulerLimits
from tarjama_server.core.model_worker import BatchOutcome, JobOutcome, ModelWorker
from tarjama_server.core.scheduler import Scheduler
from tarjama_server.core.tickets import Job
from tarjama_server.core.workers import WorkerSlots
from tarjama_server.engines.base import Generation, GenerationParams, ModelInfo, Task
from tarjama_server.errors import DeadlineExpiredError, EngineFault, InvalidRequestError, OverloadedError

from .helpers import admit, queue_request

INFO = ModelInfo("fake", Task.TRANSLATION, "local", ("ar",), ("en",), "none", "fake", "cpu", 512)
PARAMS = GenerationParams(num_beams=1)


class RecordingEngine:
    info = INFO

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()  # set when a batch enters generate

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 1

    def generate(self, texts: Sequence[str], params: GenerationParams) -> list[Generation]:
        self.started.set()
        assert self.gate.wait(30), "the test never opened the gate"
        self.batches.append(list(texts))
        return [Generation(text.upper(), 2, 3) for text in texts]


@pytest.fixture
def executor():
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool


def make(engine: RecordingEngine, executor, **limits: float) -> Scheduler:
    scheduler = Scheduler(engine, executor, SchedulerLimits(**limits), calibration=Calibration(tokens_per_second=1e6))
    scheduler.start()
    return scheduler


async def hold_first_batch(scheduler: Scheduler, engine: RecordingEngine) -> list[asyncio.Future[Generation]]:
    """Start a one-job batch and keep it in the engine until ``engine.gate`` opens."""
    engine.gate.clear()
    engine.started.clear()
    _, blocker = queue_request(scheduler, ["x"], PARAMS)
    assert await asyncio.to_thread(engine.started.wait, 30)
    return blocker


class ManualClock:
    """The scheduler's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def texts(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(count)]


async def test_requests_share_batches_in_arrival_order(executor) -> None:
    engine = RecordingEngine()
    scheduler = make(engine, executor, max_batch_size=8)
    blocker = await hold_first_batch(scheduler, engine)
    first = queue_request(scheduler, ["b", "c"], PARAMS)[1]
    second = queue_request(scheduler, ["d", "e", "f"], PARAMS)[1]
    engine.gate.set()
    results = await asyncio.gather(*blocker, *first, *second)
    assert [r.text for r in results] == ["X", "B", "C", "D", "E", "F"]
    assert engine.batches == [["x"], ["b", "c", "d", "e", "f"]]
    await scheduler.stop()


async def test_jobs_are_only_batched_with_equal_params(executor) -> None:
    engine = RecordingEngine()
    scheduler = make(engine, executor, max_batch_size=8)
    blocker = await hold_first_batch(scheduler, engine)
    greedy = queue_request(scheduler, ["a", "b"], PARAMS)[1]
    beams = queue_request(scheduler, ["c"], GenerationParams(num_beams=4))[1]
    engine.gate.set()
    await asyncio.gather(*blocker, *greedy, *beams)
    assert engine.batches == [["x"], ["a", "b"], ["c"]]
    await scheduler.stop()


async def test_earlier_request_goes_first_and_a_short_one_is_not_stuck_behind_a_long_one(executor) -> None:
    engine = RecordingEngine()
    scheduler = make(engine, executor, max_batch_size=8, request_share=0.5)
    blocker = await hold_first_batch(scheduler, engine)
    long = queue_request(scheduler, texts("L", 20), PARAMS)[1]
    short = queue_request(scheduler, ["s0", "s1"], PARAMS)[1]
    engine.gate.set()
    await asyncio.gather(*blocker, *long, *short)
    # The long request takes its share (4 of 8), the short one comes along in the same
    # batch, and the long one fills what is left.
    assert engine.batches[1] == ["L0", "L1", "L2", "L3", "s0", "s1", "L4", "L5"]
    assert engine.batches[2:] == [texts("L", 20)[6:14], texts("L", 20)[14:]]
    await scheduler.stop()


async def test_a_retry_keeps_its_request_place_and_its_segment_order(executor) -> None:
    engine = RecordingEngine()
    scheduler = make(engine, executor, max_batch_size=2, request_share=1.0)
    blocker = await hold_first_batch(scheduler, engine)
    first, first_jobs = queue_request(scheduler, ["a0", "a1", "a2"], PARAMS)
    later = queue_request(scheduler, ["b0", "b1"], PARAMS)[1]
    retry = scheduler.submit(first, ["a0 again"], PARAMS, orders=[0])  # as the repetition guard does for segment 0
    engine.gate.set()
    await asyncio.gather(*blocker, *first_jobs, *later, *retry)
    assert engine.batches[1:] == [["a0", "a0 again"], ["a1", "a2"], ["b0", "b1"]]
    await scheduler.stop()


async def test_a_streaming_request_gets_its_first_segment_into_the_next_batch(executor) -> None:
    engine = RecordingEngine()
    scheduler = make(engine, executor, max_batch_size=4, request_share=1.0, early_share=0.25)
    blocker = await hold_first_batch(scheduler, engine)
    bulk = queue_request(scheduler, texts("L", 12), PARAMS)[1]
    streaming = queue_request(scheduler, ["s0", "s1", "s2"], PARAMS, early=1)[1]
    engine.gate.set()
    await asyncio.gather(*blocker, *bulk, *streaming)
    # Its first segment runs alone, not held for a full batch: about one segment's time.
    assert engine.batches[1] == ["s0"]
    # The rest of it waits its turn behind the earlier request.
    assert engine.batches[2:] == [texts("L", 12)[0:4], texts("L", 12)[4:8], texts("L", 12)[8:12], ["s1", "s2"]]
    await scheduler.stop()


async def test_batches_keep_within_the_token_budget_and_group_similar_lengths(executor) -> None:
    engine = RecordingEngine()  # tokens = words + 1
    scheduler = make(engine, executor, max_batch_size=4, max_batch_tokens=40, request_share=1.0)
    blocker = await hold_first_batch(scheduler, engine)
    long_one = " ".join(["w"] * 15)  # 16 tokens: with it, at most 2 jobs fit in 40 padded positions
    jobs = ["a b", long_one, "c d", "e f", "g h", "i j k"]
    futures = queue_request(scheduler, jobs, PARAMS)[1]
    engine.gate.set()
    await asyncio.gather(*blocker, *futures)
    padded = [len(batch) * max(len(text.split()) + 1 for text in batch) for batch in engine.batches[1:]]
    assert all(size <= 40 for size in padded), padded
    # The short jobs ride together; the long one does not drag them to its length.
    assert ["a b", "c d", "e f", "g h"] in engine.batches and [long_one, "i j k"] in engine.batches
    await scheduler.stop()


async def test_cancelled_jobs_are_withdrawn(executor) -> None:
    engine = RecordingEngine()
    scheduler = make(engine, executor, max_batch_size=8)
    blocker = await hold_first_batch(scheduler, engine)
    abandoned, abandoned_jobs = queue_request(scheduler, ["b", "c"], PARAMS)
    kept = queue_request(scheduler, ["d"], PARAMS)[1]
    scheduler.close(abandoned)  # the caller left
    assert all(future.cancelled() for future in abandoned_jobs)
    engine.gate.set()
    await asyncio.gather(*blocker, *kept)
    assert engine.batches == [["x"], ["d"]]
    await scheduler.stop()


async def test_jobs_past_their_deadline_never_reach_the_model(executor) -> None:
    engine = RecordingEngine()
    scheduler = make(engine, executor, max_batch_size=8)
    blocker = await hold_first_batch(scheduler, engine)
    _, expired = queue_request(scheduler, ["b", "c"], PARAMS, deadline=scheduler.clock() - 1, force=True)
    kept = queue_request(scheduler, ["d"], PARAMS)[1]
    engine.gate.set()
    await asyncio.gather(*blocker, *kept)
    for future in expired:
        with pytest.raises(DeadlineExpiredError):
            await future
    assert engine.batches == [["x"], ["d"]]
    await scheduler.stop()


async def test_admission_refuses_what_cannot_finish_in_time(executor) -> None:
    engine = RecordingEngine()
    scheduler = make(engine, executor, max_queue_seconds=10.0, deadline_margin=0.8)
    estimator = scheduler.estimator
    estimator.tokens_per_second, estimator.tokens_per_input_token = 10.0, 1.0
    estimator.tokens_per_char, estimator.chars_measured = 1.0, True  # a character a token: lengths are tokens
    admit(scheduler, 50)  # 5 s of work
    admit(scheduler, 50)  # 10 s: exactly the bound
    assert scheduler.queued_seconds() == pytest.approx(10.0)
    with pytest.raises(OverloadedError, match="server busy") as refused:
        admit(scheduler, 10)
    assert refused.value.retry_after == pytest.approx(1.0)
    with pytest.raises(OverloadedError):  # judged before planning, on its length: 4 s usable, 10 s queued
        scheduler.reserve(chars=1, deadline=scheduler.clock() + 5)
    with pytest.raises(InvalidRequestError, match="--max-queue-seconds"):
        admit(scheduler, 101)  # more than the server ever queues, even empty
    with pytest.raises(DeadlineExpiredError, match="even on an idle server"):
        admit(scheduler, 50, deadline=scheduler.clock() + 1)  # 5 s of work, 0.8 s usable: not "busy"
    assert scheduler.queued_seconds() == pytest.approx(10.0)  # refusals queue nothing
    await scheduler.stop()


async def test_throughput_and_work_per_token_are_measured(executor) -> None:
    clock = ManualClock()

    class TwoSecondEngine(RecordingEngine):
        def generate(self, texts, params):
            clock.now += 2.0  # the batch takes 2 s on the scheduler's clock
            return super().generate(texts, params)

    scheduler = Scheduler(
        TwoSecondEngine(), executor, SchedulerLimits(max_batch_size=2),
        calibration=Calibration(tokens_per_second=100.0), clock=clock,
    )  # fmt: skip
    scheduler.start()
    ticket = admit(scheduler, 2)
    await asyncio.gather(*scheduler.submit(ticket, ["a", "b"], PARAMS, input_tokens=[1, 1]))
    # A full batch of 2 x (2 read + 3 written) in 2 s: a sample of 5 tokens/s, slower than the prior.
    assert scheduler.estimator.tokens_per_second == pytest.approx(5.0)
    scheduler.close(ticket, completed=True)  # 10 tokens of work for 2 input tokens
    assert scheduler.estimator.tokens_per_input_token == pytest.approx(5.0)
    assert scheduler.queued_seconds() == 0
    await scheduler.stop()


async def test_engine_failure_reaches_every_waiting_request(executor) -> None:
    class Broken(RecordingEngine):
        def generate(self, texts, params):
            raise RuntimeError("boom")

    scheduler = make(Broken(), executor, max_batch_size=8)
    futures = queue_request(scheduler, ["a", "b"], GenerationParams())[1]
    for future in futures:
        with pytest.raises(RuntimeError, match="boom"):
            await future
    # and the worker keeps serving
    scheduler.worker.engine = RecordingEngine()
    assert (await queue_request(scheduler, ["z"], GenerationParams())[1][0]).text == "Z"
    await scheduler.stop()


async def test_admission_before_planning_by_length_then_settled_on_real_tokens(executor) -> None:
    engine = RecordingEngine()
    scheduler = make(engine, executor, max_queue_seconds=10.0)
    estimator = scheduler.estimator
    estimator.tokens_per_second, estimator.tokens_per_input_token = 10.0, 1.0
    ticket = scheduler.reserve(chars=100, deadline=None)  # 100 characters at the first guess, 0.5 tokens each: 5 s
    assert scheduler.queued_seconds() == pytest.approx(5.0)
    scheduler.settle(ticket, input_tokens=20)  # planned: 20 tokens, and now 0.2 tokens a character
    assert scheduler.queued_seconds() == pytest.approx(2.0)
    assert estimator.tokens_per_char == pytest.approx(0.2)
    with pytest.raises(OverloadedError):
        scheduler.reserve(chars=500, deadline=None)  # 2 s ahead + 10 s > 10 s: refused before any planning
    huge = scheduler.reserve(chars=10_000, deadline=None)  # 200 s by length: may never fit, so judged once planned
    with pytest.raises(InvalidRequestError, match="--max-queue-seconds"):
        scheduler.settle(huge, input_tokens=2_000)
    assert scheduler.queued_seconds() == pytest.approx(2.0)
    await scheduler.stop()


async def test_a_request_released_while_it_was_planned_hears_so_when_it_settles(executor) -> None:
    """Another request, planned first, turns out big: the review releases this one before its
    own planning ends, and its settle raises the release (retry hint), not an internal error."""
    clock = ManualClock()
    scheduler = Scheduler(
        RecordingEngine(), executor, SchedulerLimits(),
        calibration=Calibration(tokens_per_second=1.0, tokens_per_input_token=1.0, tokens_per_char=1.0), clock=clock,
    )  # fmt: skip
    scheduler.start()
    big = scheduler.reserve(chars=5, deadline=None)
    late = scheduler.reserve(chars=5, deadline=30.0)  # 10 s by length: admitted
    scheduler.settle(big, input_tokens=50, jobs=1)  # 50 s ahead of it now: past its deadline
    with pytest.raises(OverloadedError) as released:
        scheduler.settle(late, input_tokens=5, jobs=1)
    assert released.value.retry_after > 0
    assert scheduler.tickets.keys() == {big.seq} and scheduler.admission.reservations.keys() == {big.seq}
    scheduler.close(big)
    await scheduler.stop()


async def test_n_workers_keep_n_batches_in_flight_shared_by_both_models() -> None:
    """Two workers: a request's segments run as two batches at once (each waits in the engine
    until the other has arrived; one batch at a time would never get past it). A second model
    on the same workers holding one of them leaves the first model one worker."""
    arrived = threading.Barrier(2, timeout=30)

    class PairedEngine(RecordingEngine):
        paired = True

        def generate(self, texts, params):
            if self.paired:
                arrived.wait()  # BrokenBarrierError after 30 s unless another batch runs meanwhile
            return super().generate(texts, params)

    slots = WorkerSlots(2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        engine, other = PairedEngine(), RecordingEngine()
        limits = SchedulerLimits(max_batch_size=8, request_share=1.0)
        scheduler = Scheduler(engine, pool, limits, calibration=Calibration(tokens_per_second=10.0), slots=slots)
        second = Scheduler(other, pool, limits, calibration=Calibration(tokens_per_second=10.0), slots=slots)
        scheduler.start(), second.start()
        # Admission counts both workers: 20 tokens of work at 10 tokens/s per worker is 1 s, not 2.
        ticket = admit(scheduler, 10)
        assert scheduler.queued_seconds() == pytest.approx(1.0)
        results = await asyncio.gather(*scheduler.submit(ticket, texts("a", 6), PARAMS))
        assert [result.text for result in results] == texts("A", 6)
        # The queue of 6 spread over the two idle workers: 3 each, at the same time.
        assert sorted(map(len, engine.batches)) == [3, 3]

        engine.paired = False
        other.gate.clear()
        _, held = queue_request(second, ["s"], PARAMS)
        assert await asyncio.to_thread(other.started.wait, 30)  # the second model holds one worker
        results = await asyncio.gather(*scheduler.submit(ticket, texts("b", 4), PARAMS))
        assert engine.batches[-1] == texts("b", 4)  # one batch on the one free worker
        other.gate.set()
        await asyncio.gather(*held)
        scheduler.close(ticket)
        await scheduler.stop(), await second.stop()


async def test_accepted_requests_that_would_miss_their_deadline_are_released_early_not_left_to_expire(
    executor,
) -> None:
    """Calibrated fast, the model turns out slow: after its first batch, the requests that
    can no longer finish in time hear so (RESOURCE_EXHAUSTED, retry hint) long before their
    deadline, and the rest still finish."""
    clock = ManualClock()

    class SlowEngine(RecordingEngine):
        def generate(self, texts, params):
            clock.now += 10.0  # every batch takes 10 s on the scheduler's clock
            return super().generate(texts, params)

    engine = SlowEngine()
    scheduler = Scheduler(
        engine, executor, SchedulerLimits(max_batch_size=2, request_share=1.0),
        calibration=Calibration(tokens_per_second=1000.0, tokens_per_input_token=2.5, tokens_per_char=1.0), clock=clock,
    )  # fmt: skip
    scheduler.start()
    requests = [queue_request(scheduler, [f"r{i}a", f"r{i}b"], PARAMS, deadline=25.0) for i in range(4)]
    outcomes = await asyncio.gather(*(future for _, futures in requests for future in futures), return_exceptions=True)
    # The first batch (request 0: 4 tokens read, 10 of work) took 10 s: at 1 token/s, each request is 10 s.
    # Request 1 ends at 20 s, within 25 s; requests 2 and 3 would end at 30 and 40 s.
    assert [type(outcome).__name__ for outcome in outcomes] == ["Generation"] * 4 + ["OverloadedError"] * 4
    released = outcomes[4]
    assert isinstance(released, OverloadedError) and released.retry_after > 0
    assert clock.now == pytest.approx(20.0)  # released at 10 s, not at their deadline
    assert engine.batches == [["r0a", "r0b"], ["r1a", "r1b"]]
    for ticket, _ in requests:
        scheduler.close(ticket)
    await scheduler.stop()


async def test_a_hung_engine_call_fails_every_request_at_once_and_reports_the_fault(executor) -> None:
    engine = RecordingEngine()
    engine.gate.clear()  # the model call never returns (until the test lets it go)
    scheduler = Scheduler(
        engine, executor, SchedulerLimits(max_batch_size=1, engine_timeout_seconds=0.2),
        calibration=Calibration(tokens_per_second=1e6),
    )  # fmt: skip
    scheduler.start()
    running = queue_request(scheduler, ["a"], PARAMS)[1]
    waiting = queue_request(scheduler, ["b"], PARAMS)[1]
    for future in (*running, *waiting):
        with pytest.raises(EngineFault, match="no answer in 0 s"):
            await future
    fault = await asyncio.wait_for(scheduler.wait_fault(), 30)  # what app.py subscribes to
    assert "no answer in 0 s" in str(fault) and scheduler.tickets  # the pipelines close their own tickets
    with pytest.raises(EngineFault):  # nothing more is admitted: the process is to be restarted
        scheduler.reserve(chars=1, deadline=None)
    engine.gate.set()
    await scheduler.stop()


async def test_the_inference_thread_dying_fails_every_request_and_reports_the_fault(executor) -> None:
    class Dying(RecordingEngine):
        def generate(self, texts, params):
            raise SystemExit(1)  # escapes the engine as no ordinary error does

    scheduler = Scheduler(Dying(), executor, SchedulerLimits(), calibration=Calibration(tokens_per_second=1e6))
    scheduler.start()
    futures = queue_request(scheduler, ["a", "b"], PARAMS)[1]
    for future in futures:
        with pytest.raises(EngineFault, match="inference thread died"):
            await future
    fault = await asyncio.wait_for(scheduler.wait_fault(), 30)
    assert "inference thread died" in str(fault)
    await scheduler.stop()


# -- the steps, driven synchronously ----------------------------------------------------------
# As vLLM's tests drive schedule() and update_from_output(): the scheduler forms a batch
# (``schedule``) and applies a batch outcome written by the test (``apply``), with no model
# call and no await between the steps, so the batcher task never runs meanwhile.


def stepped(clock: ManualClock, executor, **limits: float) -> Scheduler:
    calibration = Calibration(tokens_per_second=100.0, tokens_per_input_token=1.0, tokens_per_char=1.0)
    scheduler = Scheduler(RecordingEngine(), executor, SchedulerLimits(**limits), calibration=calibration, clock=clock)
    scheduler.start()  # admits; the batcher runs only if the test awaits, which it does not until the end
    return scheduler


def outcome(jobs: Sequence[Job], *, started: float, ended: float, errors: Sequence[int] = ()) -> BatchOutcome:
    """What a worker would return: each job's generation (2 read, 3 written), or an error for those in ``errors``."""
    results = tuple(
        JobOutcome(job=job, error=RuntimeError("bad input"))
        if index in errors
        else JobOutcome(job=job, generation=Generation(job.text.upper(), 2, 3), own_seconds=0.0 if not errors else 1.0)
        for index, job in enumerate(jobs)
    )
    return BatchOutcome(slot=0, started=started, ended=ended, jobs=results, whole=not errors)


async def test_the_scheduler_applies_a_whole_batch_to_tickets_futures_estimates_and_admission(executor) -> None:
    clock = ManualClock()
    scheduler = stepped(clock, executor, max_batch_size=8)
    ticket, futures = queue_request(scheduler, ["a", "b"], PARAMS)
    clock.now = 1.0
    batch = scheduler.schedule()
    assert [job.text for job in batch] == ["a", "b"] and ticket.jobs == [] and ticket.dispatched == 2
    assert ticket.queue_seconds == 1.0  # admitted at 0, its first batch formed at 1
    assert not any(future.done() for future in futures)
    clock.now = 3.0
    scheduler.apply(outcome(batch, started=1.0, ended=3.0))
    assert [future.result().text for future in futures] == ["A", "B"]
    assert (ticket.done_tokens, ticket.batch_seconds) == (10, 2.0)  # 5 tokens of work each; the batch's 2 s once
    assert scheduler.estimator.tokens_per_second == pytest.approx(5.0)  # 10 tokens in 2 s, slower than the prior
    assert scheduler.admission.reservations[ticket.seq].done_tokens == 10  # admission heard of the progress
    scheduler.close(ticket, completed=True)
    assert scheduler.tickets == {} and scheduler.admission.reservations == {}
    await scheduler.stop()


async def test_a_batch_run_one_by_one_fails_only_its_bad_job_and_measures_no_rate(executor) -> None:
    clock = ManualClock()
    scheduler = stepped(clock, executor, max_batch_size=8)
    ticket, (good, bad) = queue_request(scheduler, ["a", "b"], PARAMS)
    batch = scheduler.schedule()
    rate = scheduler.estimator.tokens_per_second
    scheduler.apply(outcome(batch, started=0.0, ended=2.0, errors=[1]))
    assert good.result().text == "A"
    with pytest.raises(RuntimeError, match="bad input"):
        bad.result()
    assert (ticket.done_tokens, ticket.batch_seconds) == (5, 1.0)  # the good job's own call only
    assert scheduler.estimator.tokens_per_second == rate  # a retry one by one is no throughput sample
    scheduler.close(ticket)
    await scheduler.stop()


async def test_a_fault_in_an_outcome_fails_every_request_and_is_told_to_whoever_waits(executor) -> None:
    clock = ManualClock()
    scheduler = stepped(clock, executor, max_batch_size=1)
    running, (first,) = queue_request(scheduler, ["a"], PARAMS)
    waiting, (second,) = queue_request(scheduler, ["b"], PARAMS)
    scheduler.schedule()
    hung = EngineFault("the engine is taken as hung")
    scheduler.apply(BatchOutcome(slot=0, started=0.0, ended=1.0, jobs=(), whole=False, fault=hung))
    assert first.exception() is hung and second.exception() is hung
    assert await asyncio.wait_for(scheduler.wait_fault(), 30) is hung
    with pytest.raises(EngineFault):
        scheduler.reserve(chars=1, deadline=None)
    for ticket in (running, waiting):
        scheduler.close(ticket)
    await scheduler.stop()


async def test_the_model_worker_returns_an_outcome_and_writes_nothing(executor) -> None:
    """Its run resolves no future and credits no ticket: only the scheduler's ``apply`` does."""
    clock = ManualClock()
    scheduler = stepped(clock, executor, max_batch_size=8)
    ticket, futures = queue_request(scheduler, ["a", "b"], PARAMS)
    batch = scheduler.schedule()
    before = (ticket.done_tokens, ticket.batch_seconds, scheduler.estimator.tokens_per_second)
    done = await ModelWorker(RecordingEngine(), executor, clock=clock).run(batch, slot=0)
    assert [result.generation.text for result in done.jobs if result.generation] == ["A", "B"] and done.whole
    assert done.usage.tokens == 10 and done.fault is None
    assert not any(future.done() for future in futures)
    assert (ticket.done_tokens, ticket.batch_seconds, scheduler.estimator.tokens_per_second) == before
    scheduler.close(ticket)
    await scheduler.stop()
