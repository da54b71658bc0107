"""One model's request scheduler: admission, the batch policy and a model worker, on an
event loop.

The decisions are made elsewhere and tested without threads or event loops: whether a
request is admitted (``admission``, which keeps its own record of each request) and which
jobs make the next batch (``batch_policy.next_batch``). This module is the one writer of
the tickets (``tickets``): it queues and withdraws each ticket's jobs, wakes its task
when jobs arrive, applies each batch decision (fails expired work, takes the chosen jobs
off their tickets), hands the batch to the ``ModelWorker`` and applies the outcome it
returns (resolves the jobs, credits the tickets, feeds the estimator, reports progress to
admission). It keeps up to N batches in flight, one per idle model worker
(``workers.WorkerSlots``, shared with the other model on the same cores): a batch is
formed only once a worker is free to run it.

A hung engine or a dead inference thread fails every request at once and sets
``fault``; ``app`` hears of it by awaiting ``wait_fault``.

A pipeline uses it so: ``reserve`` a ticket on the request's length (or be refused at
once), ``settle`` it once planned on the real token count, ``submit`` its model inputs
as jobs and await their futures, then ``close`` it. Jobs of a request whose deadline
passed, or whose caller left, never reach the model.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections.abc import Sequence
from concurrent.futures import Executor

from .. import metrics
from ..engines.base import Generation, GenerationParams, Seq2SeqEngine
from ..errors import DeadlineExpiredError, EngineFault, NotReadyError, OverloadedError
from .admission import AdmissionController, Calibration, Estimator
from .batch_policy import next_batch, spread_over
from .context import CLOCK, Clock, Usage
from .limits import SchedulerLimits
from .model_worker import BatchOutcome, ModelWorker
from .tickets import Job, Ticket
from .workers import WorkerSlots

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        engine: Seq2SeqEngine,
        executor: Executor,
        limits: SchedulerLimits,
        *,
        calibration: Calibration,
        slots: WorkerSlots | None = None,
        clock: Clock = CLOCK,
    ) -> None:
        """``slots``: the model workers (batches in flight at once), shared with the other
        schedulers given the same slots, whose queued work admission counts as ahead;
        ``executor`` needs a thread for each."""
        self.limits = limits
        self.clock = clock
        self._task = engine.info.task.value
        self.slots = slots if slots is not None else WorkerSlots(engine.info.workers)
        # Batches that run at once: admission shares the queue among them.
        self.estimator = Estimator(calibration, workers=self.slots.size)
        self.admission = AdmissionController(
            self.estimator, limits, task=self._task, shared=self.slots.shared_work, clock=clock
        )
        self.worker = ModelWorker(engine, executor, timeout=limits.engine_timeout_seconds, clock=clock)
        self.throughput = Throughput(self.estimator, task=self._task)
        # The queue: open tickets in arrival order (admission's ledger holds their reservations, by the same seq).
        self.tickets: dict[int, Ticket] = {}
        # Set once the engine hung or its thread died: nothing more is served; ``wait_fault`` returns it.
        self.fault: EngineFault | None = None
        self._faulted = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()  # batches running

    @property
    def engine(self) -> Seq2SeqEngine:
        return self.worker.engine

    @property
    def queued(self) -> int:
        """Jobs waiting for a batch."""
        return sum(len(ticket.jobs) for ticket in self.tickets.values())

    def queued_seconds(self) -> float:
        """Estimated seconds of work admitted and not yet done, on this model's workers."""
        return self.admission.queued_seconds()

    # -- for pipelines ------------------------------------------------------------------

    def reserve(self, *, chars: int, deadline: float | None, early: int = 0, force: bool = False) -> Ticket:
        """A place in line for a request of ``chars`` characters, or ``OverloadedError`` at once
        when it could not finish by ``deadline``. ``early``: leading jobs to run ahead of other
        requests' later ones (streaming). ``force``: admit without the check (accepted work)."""
        self._check_running()
        reservation = self.admission.reserve(chars=chars, deadline=deadline, force=force)
        ticket = Ticket(
            reservation.seq,
            reservation.created,
            deadline=deadline,
            early=early,
            estimated_seconds=reservation.estimated_seconds,
        )
        self.tickets[ticket.seq] = ticket
        return ticket

    def settle(self, ticket: Ticket, *, input_tokens: int, most_tokens: float | None = None, jobs: int = 0) -> None:
        """Planning is done: judge the request on its real tokens, and every admitted request's
        finish again. Closes the ticket when it is refused or released."""
        try:
            reservation = self.admission.reservations.get(ticket.seq)
            if reservation is None:  # released by a review while it was planned (or closed)
                raise ticket.released or RuntimeError("settle on a closed ticket")
            self.admission.settle(reservation, input_tokens=input_tokens, most_tokens=most_tokens, jobs=jobs)
            ticket.estimated_seconds = reservation.estimated_seconds
            self._review()
            if ticket.released is not None:
                raise ticket.released
        except Exception:
            self.close(ticket)
            raise

    def submit(
        self,
        ticket: Ticket,
        texts: Sequence[str],
        params: GenerationParams,
        *,
        orders: Sequence[int] | None = None,
        input_tokens: Sequence[int] | None = None,
    ) -> list[asyncio.Future[Generation]]:
        """Queue ``texts`` as jobs of ``ticket``; await the futures in any order. ``orders``
        places them among the request's jobs (a retry passes its segment's order);
        ``input_tokens`` saves counting them again on the event loop."""
        self._check_running()
        if ticket.released is not None:
            raise ticket.released
        if ticket.closed:
            raise RuntimeError("submit on a closed ticket")
        if orders is None:  # retries always fit
            self.ensure_room(len(texts))
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Generation]] = []
        for index, text in enumerate(texts):
            order = orders[index] if orders is not None else next(ticket.next_order)
            tokens = input_tokens[index] if input_tokens is not None else self.engine.count_tokens(text)
            future: asyncio.Future[Generation] = loop.create_future()
            bisect.insort(ticket.jobs, Job(order, text, params, tokens, future, ticket))
            futures.append(future)
        self._report(ticket)
        metrics.QUEUED_JOBS.labels(self._task).set(self.queued)
        self._wakeup.set()
        return futures

    def ensure_room(self, jobs: int) -> None:
        """OverloadedError unless ``jobs`` more jobs fit the queue's memory guard."""
        limit = self.limits.max_queued_jobs
        if self.queued + jobs > limit:
            raise OverloadedError(
                f"the {self._task} queue is full ({self.queued} of {limit} jobs queued, "
                f"this request needs {jobs}); retry with backoff or send a shorter request"
            )

    def close(self, ticket: Ticket, *, completed: bool = False) -> None:
        """The request is over: withdraw what is still queued. ``completed`` feeds the
        estimates with what this request really cost."""
        if ticket.closed:
            return
        ticket.closed = True
        for job in ticket.jobs:
            job.future.cancel()
        ticket.jobs.clear()
        self.tickets.pop(ticket.seq, None)
        reservation = self.admission.reservations.get(ticket.seq)
        if reservation is not None:
            self.admission.release(reservation, completed=completed)
        metrics.QUEUED_JOBS.labels(self._task).set(self.queued)

    # -- lifecycle ----------------------------------------------------------------------

    def _check_running(self) -> None:
        if self.fault is not None:
            raise self.fault
        if self._loop_task is None:
            raise NotReadyError("the model worker is not running")

    def start(self) -> None:
        if self._loop_task is None:
            self._loop_task = asyncio.get_running_loop().create_task(self._run(), name=f"batcher-{self._task}")

    async def stop(self) -> None:
        tasks = [*self._in_flight, *([self._loop_task] if self._loop_task is not None else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._loop_task = None
        for ticket in list(self.tickets.values()):
            self._fail(ticket, NotReadyError("the server is shutting down; retry on another replica"))
            self.close(ticket)
        metrics.QUEUED_JOBS.labels(self._task).set(0)

    # -- the loop -----------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._serve()
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # a hung engine, a dead inference thread, or a bug in this loop
            self._died(error, "batcher")

    def _died(self, error: BaseException, what: str) -> None:
        """``what`` (the batcher loop, or a batch) ended on ``error``: an ``EngineFault`` (a hung
        engine, a dead inference thread) or a bug; either way nothing more runs on this model."""
        if isinstance(error, EngineFault):
            self.fail(error)
            return
        log.critical("%s %s died", self._task, what, exc_info=error)
        self.fail(EngineFault(f"the {self._task} batcher died ({type(error).__name__})"))

    def fail(self, fault: EngineFault) -> None:
        """Nothing more can run on this model (its engine, or another on the same inference thread,
        hung or died): every admitted request, queued or running, gets ``fault`` (UNAVAILABLE) at
        once rather than waiting for its deadline; ``wait_fault`` returns it."""
        if self.fault is not None:
            return
        self.fault = fault
        log.error("%s: %s; failing %d requests in flight", self._task, fault, len(self.tickets))
        for ticket in list(self.tickets.values()):
            self._fail(ticket, fault, running=True)
        metrics.QUEUED_JOBS.labels(self._task).set(0)
        self._faulted.set()

    async def wait_fault(self) -> EngineFault:
        """Returns once nothing more can run on this model: the fault (``app`` stops the server)."""
        await self._faulted.wait()
        assert self.fault is not None
        return self.fault

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            slot = await self.slots.acquire()  # a batch is formed once a worker is free to run it
            handed_over = False  # to a batch's task, which releases the slot when it ends
            try:
                if self.fault is not None:  # a batch found the engine hung or dead: nothing more runs
                    return
                if self.limits.max_wait_seconds and self.queued < self.limits.max_batch_size:
                    await asyncio.sleep(self.limits.max_wait_seconds)  # let concurrent requests join the batch
                batch = self.schedule(idle_workers=self.slots.free + 1)
                if not self.queued:
                    self._wakeup.clear()
                metrics.QUEUED_JOBS.labels(self._task).set(self.queued)
                if batch:
                    running = loop.create_task(self._run_batch(batch, slot), name=f"batch-{self._task}-{slot}")
                    handed_over = True
                    self._in_flight.add(running)
                    running.add_done_callback(self._in_flight.discard)
            finally:
                if not handed_over:  # nothing for this worker to run (or the loop ends): it stays idle
                    self.slots.release(slot)

    async def _run_batch(self, batch: list[Job], slot: int) -> None:
        try:
            self.apply(await self.worker.run(batch, slot=slot))
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # a hung engine, a dead inference thread, or a bug
            self._died(error, "batch")
        finally:
            self.slots.release(slot)

    def _review(self) -> None:
        """Release the admitted requests that would now finish past their deadline (admission
        decides): their queued and running jobs fail with the retry hint at once."""
        for reservation in self.admission.review():
            assert reservation.released is not None
            ticket = self.tickets.pop(reservation.seq)
            ticket.released = reservation.released
            self._fail(ticket, reservation.released, running=True)
        metrics.QUEUED_JOBS.labels(self._task).set(self.queued)

    def schedule(self, idle_workers: int = 1) -> list[Job]:
        """Release what would now miss its deadline (estimates change as batches complete), then
        ask the batch policy for the next batch and apply its decision to the queue."""
        self._review()
        tickets = list(self.tickets.values())
        for ticket in tickets:  # jobs whose caller left never reach the model
            ticket.jobs = [job for job in ticket.jobs if not job.future.done()]
            self._report(ticket)
        now = self.clock()
        limits = spread_over(self.limits, queued=self.queued, idle_workers=idle_workers)
        decision = next_batch(tickets, now, limits)
        for ticket in decision.expired:
            metrics.EXPIRED_JOBS.labels(self._task).inc(len(ticket.jobs))
            self._fail(ticket, DeadlineExpiredError("the deadline passed before this request's turn came"))
        for ticket in dispatch(decision.jobs, now):
            self._report(ticket)
        return decision.jobs

    def apply(self, outcome: BatchOutcome) -> None:
        """What a batch did (the model worker's outcome): a throughput sample when it ran as one,
        each ticket credited and each job resolved, the progress reported to admission; a fault
        stops the model."""
        if outcome.whole:
            self.throughput.observe(outcome, waiting=bool(self.queued))
        for ticket in credit(outcome):
            self._report(ticket)
        if outcome.fault is not None:
            self._died(outcome.fault, "batch")

    def _report(self, ticket: Ticket) -> None:
        """Tell admission how far ``ticket`` has come (its estimates of the work left read this)."""
        self.admission.progress(
            ticket.seq, done_tokens=ticket.done_tokens, queued_input_tokens=ticket.queued_input_tokens
        )

    def _fail(self, ticket: Ticket, error: Exception, *, running: bool = False) -> None:
        """Fail ``ticket``'s queued jobs with ``error`` (and those the model is running, with ``running``)."""
        fail_jobs(ticket, error, running=running)
        self._report(ticket)


# -- what the scheduler writes, step by step (module functions: the ``Scheduler`` calls them) --


def dispatch(jobs: Sequence[Job], now: float) -> list[Ticket]:
    """``jobs`` go into a batch at ``now``: off their tickets' queues, into their running
    lists; returns the tickets they came from."""
    chosen: dict[int, list[Job]] = {}  # by ticket
    for job in jobs:
        chosen.setdefault(job.ticket.seq, []).append(job)
    tickets = []
    for taken in chosen.values():
        ticket, ids = taken[0].ticket, {id(job) for job in taken}
        ticket.jobs = [job for job in ticket.jobs if id(job) not in ids]
        if not ticket.dispatched:  # its first batch
            ticket.queue_seconds = now - ticket.created
        ticket.running = [job for job in ticket.running if not job.future.done()] + taken
        ticket.dispatched += len(taken)
        tickets.append(ticket)
    return tickets


def credit(outcome: BatchOutcome) -> list[Ticket]:
    """Apply a batch outcome to its tickets (the time that carried their jobs, the work done)
    and resolve each job's future; returns the tickets it touched."""
    touched: dict[int, Ticket] = {}
    for done in outcome.jobs:
        job, ticket = done.job, done.job.ticket
        if outcome.whole:
            if ticket.seq not in touched:  # the batch's wall time, once per ticket it carried
                ticket.batch_seconds += outcome.ended - outcome.started
        elif done.generation is not None:
            ticket.batch_seconds += done.own_seconds
        touched[ticket.seq] = ticket
        if done.generation is not None:
            ticket.done_tokens += Usage.of([done.generation]).tokens
            if not job.future.done():
                job.future.set_result(done.generation)
        elif done.error is not None and not job.future.done():
            job.future.set_exception(done.error)
    return list(touched.values())


def fail_jobs(ticket: Ticket, error: Exception, *, running: bool = False) -> None:
    """Fail ``ticket``'s queued jobs with ``error`` (and those the model is running, with ``running``)."""
    for job in (*ticket.jobs, *(ticket.running if running else ())):
        if not job.future.done():
            job.future.set_exception(error)
    ticket.jobs.clear()


class Throughput:
    """What whole batches measure: the batch metrics and the estimator's rate samples. While
    work is waiting, a worker's batch is measured from the end of its previous one: the gap
    between batches (planning, the transport, refusals on the event loop) is service time."""

    def __init__(self, estimator: Estimator, *, task: str) -> None:
        self.estimator = estimator
        self._task = task
        # By worker: the end of its last batch, while jobs were still waiting.
        self._busy_since: dict[int, float | None] = {}
        metrics.THROUGHPUT.labels(task).set(estimator.tokens_per_second * estimator.workers)

    def observe(self, outcome: BatchOutcome, *, waiting: bool) -> None:
        """``outcome`` ran as one batch; ``waiting``: jobs were still queued when it ended."""
        task, results, estimator = self._task, outcome.generations, self.estimator
        started, ended, slot = outcome.started, outcome.ended, outcome.slot
        metrics.BATCH_SIZE.labels(task).observe(len(results))
        metrics.BATCH_SECONDS.labels(task).observe(ended - started)
        metrics.PADDED_INPUT_TOKENS.labels(task).inc(max(result.input_tokens for result in results) * len(results))
        usage = outcome.usage
        metrics.TOKENS.labels(task, "input").inc(usage.input_tokens)
        metrics.TOKENS.labels(task, "output").inc(usage.output_tokens)
        busy_since = self._busy_since.get(slot)
        since = started if busy_since is None else busy_since
        sample = estimator.observe_batch(usage.tokens, ended - since, usage.input_tokens)
        self._busy_since[slot] = ended if waiting else None
        if sample is not None:
            metrics.THROUGHPUT.labels(task).set(estimator.tokens_per_second * estimator.workers)
            log.debug(
                "%s: %d tokens in %.3f s (batch of %d): %.0f tokens/s; estimate %.0f tokens/s, %.2f per input token",
                task,
                usage.tokens,
                ended - since,
                len(results),
                sample,
                estimator.tokens_per_second,
                estimator.tokens_per_input_token,
            )
