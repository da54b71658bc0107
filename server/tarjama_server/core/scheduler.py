"""One model's request scheduler: admission, the batch policy and a model worker, on an
event loop.

The decisions are made elsewhere and tested without threads or event loops: whether a
request is admitted (``admission``, whose ledger of open tickets is the queue) and which
jobs make the next batch (``batch_policy.next_batch``). This module queues and withdraws
each ticket's jobs, wakes its task when jobs arrive, applies each batch decision (fails
expired work, takes the chosen jobs off their tickets) and hands the batch to the
``ModelWorker``. It keeps up to N batches in flight, one per idle model worker
(``workers.WorkerSlots``, shared with the other model on the same cores): a batch is
formed only once a worker is free to run it.

A pipeline uses it so: ``reserve`` a ticket on the request's length (or be refused at
once), ``settle`` it once planned on the real token count, ``submit`` its model inputs
as jobs and await their futures, then ``close`` it. Jobs of a request whose deadline
passed, or whose caller left, never reach the model.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

from .. import metrics
from ..engines.base import Generation, GenerationParams, Seq2SeqEngine
from ..errors import DeadlineExpiredError, EngineFault, NotReadyError, OverloadedError
from .admission import AdmissionController, Calibration, Estimator
from .batch_policy import next_batch, spread_over
from .context import CLOCK, Clock
from .limits import SchedulerLimits
from .model_worker import ModelWorker
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
        shared_with: Sequence[Scheduler] = (),
        slots: WorkerSlots | None = None,
        on_fault: Callable[[EngineFault], None] | None = None,
        clock: Clock = CLOCK,
    ) -> None:
        """``slots``: the model workers (batches in flight at once), shared with the
        schedulers in ``shared_with``; ``executor`` needs a thread for each."""
        self.limits = limits
        self.clock = clock
        self._task = engine.info.task.value
        self.slots = slots if slots is not None else WorkerSlots(engine.info.workers)
        # Batches that run at once: admission shares the queue among them.
        self.estimator = Estimator(calibration, workers=self.slots.size)
        self.admission = AdmissionController(self.estimator, limits, task=self._task, clock=clock)
        # Schedulers whose models run on the same workers count each other's queue as ahead.
        for peer in shared_with:
            self.admission.share_inference_with(peer.admission)
        self.worker = ModelWorker(
            engine,
            executor,
            self.estimator,
            backlog=lambda: self.queued,
            timeout=limits.engine_timeout_seconds,
            clock=clock,
        )
        # Set once the engine hung or its thread died: nothing more is served; ``on_fault`` is told.
        self.fault: EngineFault | None = None
        self._on_fault = on_fault
        self._wakeup = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()  # batches running

    @property
    def engine(self) -> Seq2SeqEngine:
        return self.worker.engine

    @property
    def queued(self) -> int:
        """Jobs waiting for a batch."""
        return sum(len(ticket.jobs) for ticket in self.admission.tickets.values())

    def queued_seconds(self) -> float:
        """Estimated seconds of work admitted and not yet done, on this model's workers."""
        return self.admission.queued_seconds()

    # -- for pipelines ------------------------------------------------------------------

    def reserve(self, *, chars: int, deadline: float | None, early: int = 0, force: bool = False) -> Ticket:
        """A place in line for a request of ``chars`` characters, or ``OverloadedError`` at once
        when it could not finish by ``deadline``. ``early``: leading jobs to run ahead of other
        requests' later ones (streaming). ``force``: admit without the check (accepted work)."""
        self._check_running()
        return self.admission.reserve(chars=chars, deadline=deadline, early=early, force=force)

    def settle(self, ticket: Ticket, *, input_tokens: int, most_tokens: float | None = None, jobs: int = 0) -> None:
        """Planning is done: judge the request on its real tokens, and every admitted request's
        finish again. Closes the ticket when it is refused or released."""
        try:
            self.admission.settle(ticket, input_tokens=input_tokens, most_tokens=most_tokens, jobs=jobs)
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
        self.admission.release(ticket, completed=completed)
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
        for ticket in list(self.admission.tickets.values()):
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
        once rather than waiting for its deadline; the server is told."""
        if self.fault is not None:
            return
        self.fault = fault
        log.error("%s: %s; failing %d requests in flight", self._task, fault, len(self.admission.tickets))
        for ticket in list(self.admission.tickets.values()):
            self._fail(ticket, fault, running=True)
        metrics.QUEUED_JOBS.labels(self._task).set(0)
        if self._on_fault is not None:
            self._on_fault(fault)

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
                batch = self._take_batch(idle_workers=self.slots.free + 1)
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
            await self.worker.run(batch, slot=slot)
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # a hung engine, a dead inference thread, or a bug
            self._died(error, "batch")
        finally:
            self.slots.release(slot)

    def _review(self) -> None:
        """Release the admitted requests that would now finish past their deadline (admission
        decides): their queued and running jobs fail with the retry hint at once."""
        for ticket in self.admission.review():
            assert ticket.released is not None
            self._fail(ticket, ticket.released, running=True)
        metrics.QUEUED_JOBS.labels(self._task).set(self.queued)

    def _take_batch(self, idle_workers: int = 1) -> list[Job]:
        """Release what would now miss its deadline (estimates change as batches complete), then
        ask the batch policy for the next batch and apply its decision to the queue."""
        self._review()
        tickets = list(self.admission.tickets.values())
        for ticket in tickets:  # jobs whose caller left never reach the model
            ticket.jobs = [job for job in ticket.jobs if not job.future.done()]
        now = self.clock()
        limits = spread_over(self.limits, queued=self.queued, idle_workers=idle_workers)
        decision = next_batch(tickets, now, limits)
        for ticket in decision.expired:
            metrics.EXPIRED_JOBS.labels(self._task).inc(len(ticket.jobs))
            self._fail(ticket, DeadlineExpiredError("the deadline passed before this request's turn came"))
        chosen: dict[int, list[Job]] = {}  # by ticket
        for job in decision.jobs:
            chosen.setdefault(job.ticket.seq, []).append(job)
        for jobs in chosen.values():
            ticket, ids = jobs[0].ticket, {id(job) for job in jobs}
            ticket.jobs = [job for job in ticket.jobs if id(job) not in ids]
            if not ticket.dispatched:  # its first batch
                ticket.queue_seconds = now - ticket.created
            ticket.running = [job for job in ticket.running if not job.future.done()] + jobs
            ticket.dispatched += len(jobs)
        return decision.jobs

    @staticmethod
    def _fail(ticket: Ticket, error: Exception, *, running: bool = False) -> None:
        """Fail ``ticket``'s queued jobs with ``error`` (and those the model is running, with ``running``)."""
        for job in (*ticket.jobs, *(ticket.running if running else ())):
            if not job.future.done():
                job.future.set_exception(error)
        ticket.jobs.clear()
