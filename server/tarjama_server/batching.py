"""Dynamic batching: pools segments from all concurrent requests into model calls.

Each request submits its segments as jobs; one worker per model takes up to
``max_batch_size`` queued jobs with equal decoding settings and runs them as one
``generate`` call on the inference thread, so model inference never blocks the
event loop and concurrent small requests share batches. A bounded queue gives
backpressure: a request whose jobs do not fit is refused whole (nothing of it
is queued), never half-accepted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from . import metrics
from .engines.base import Generation, GenerationParams, Seq2SeqEngine
from .errors import InvalidRequestError, NotReadyError, OverloadedError

log = logging.getLogger(__name__)


@dataclass
class _Job:
    text: str
    params: GenerationParams
    future: asyncio.Future[Generation]


class BatchScheduler:
    def __init__(
        self,
        engine: Seq2SeqEngine,
        executor: Executor,
        *,
        max_batch_size: int,
        max_queued: int,
        max_wait_seconds: float = 0.0,
    ) -> None:
        self.engine = engine
        self._executor = executor
        self._max_batch_size = max_batch_size
        self._max_queued = max_queued
        self._max_wait = max_wait_seconds
        self._task_label = engine.info.task.value
        self._pending: deque[_Job] = deque()
        self._wakeup = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None

    @property
    def queued(self) -> int:
        return len(self._pending)

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
        while self._pending:
            job = self._pending.popleft()
            if not job.future.done():
                job.future.set_exception(NotReadyError("the server is shutting down; retry on another replica"))
        metrics.QUEUED_JOBS.labels(self._task_label).set(0)

    def submit(self, texts: Sequence[str], params: GenerationParams) -> list[asyncio.Future[Generation]]:
        """Queue ``texts`` as jobs (all or none); await the returned futures in any order.
        Cancelling a future withdraws its job if it has not started."""
        if self._worker is None:
            raise NotReadyError("the model worker is not running")
        if len(texts) > self._max_queued:  # would never fit, however long the caller waits
            raise InvalidRequestError(
                f"this request needs {len(texts)} {self._task_label} jobs (segments), more than this server's "
                f"queue holds at all (max_queued_jobs={self._max_queued}): send shorter or fewer texts per request"
            )
        if len(self._pending) + len(texts) > self._max_queued:
            raise OverloadedError(
                f"the {self._task_label} queue is full ({len(self._pending)} of {self._max_queued} jobs queued, "
                f"this request needs {len(texts)}); retry with backoff or send a shorter request"
            )
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Generation]] = []
        for text in texts:
            future: asyncio.Future[Generation] = loop.create_future()
            self._pending.append(_Job(text, params, future))
            futures.append(future)
        metrics.QUEUED_JOBS.labels(self._task_label).set(len(self._pending))
        self._wakeup.set()
        return futures

    def _take_batch(self) -> list[_Job]:
        """Up to max_batch_size live jobs sharing the params of the oldest one, FIFO."""
        while self._pending and self._pending[0].future.done():
            self._pending.popleft()  # cancelled by its request (deadline, disconnect)
        if not self._pending:
            return []
        params = self._pending[0].params
        batch: list[_Job] = []
        kept: deque[_Job] = deque()
        while self._pending:
            job = self._pending.popleft()
            if job.future.done():
                continue
            if len(batch) < self._max_batch_size and job.params == params:
                batch.append(job)
            else:
                kept.append(job)
        self._pending = kept
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            if self._max_wait and len(self._pending) < self._max_batch_size:
                await asyncio.sleep(self._max_wait)  # let concurrent requests join the batch
            batch = self._take_batch()
            if not self._pending:
                self._wakeup.clear()
            metrics.QUEUED_JOBS.labels(self._task_label).set(len(self._pending))
            if not batch:
                continue
            started = time.perf_counter()
            try:
                results = await loop.run_in_executor(
                    self._executor, self.engine.generate, [job.text for job in batch], batch[0].params
                )
            except Exception as error:
                log.exception("%s batch of %d failed; retrying its jobs one by one", self._task_label, len(batch))
                await self._run_one_by_one(batch, error)
                continue
            metrics.BATCH_SIZE.labels(self._task_label).observe(len(batch))
            metrics.BATCH_SECONDS.labels(self._task_label).observe(time.perf_counter() - started)
            for job, result in zip(batch, results, strict=True):
                metrics.TOKENS.labels(self._task_label, "input").inc(result.input_tokens)
                metrics.TOKENS.labels(self._task_label, "output").inc(result.output_tokens)
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
                log.exception("%s job failed on its own", self._task_label)
                if not job.future.done():
                    job.future.set_exception(error)
                continue
            if not job.future.done():
                job.future.set_result(result)
