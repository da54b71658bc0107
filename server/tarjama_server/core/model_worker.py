"""Running batches on the model: the executor call, the retry one by one after a failed
batch, and what each batch measures (throughput for admission, batch metrics); and the
start-up calibration, one full batch measured before serving.

Inference runs on the executor's threads, never on the event loop; with N model workers,
N batches run at once, each measured on its own worker. A failed batch is run
again job by job, so that only a job that fails on its own (the bad input) fails its
request and the others in its batch still succeed.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

from .. import metrics
from ..engines.base import Generation, GenerationParams, Seq2SeqEngine
from ..errors import EngineFault
from .admission import Calibration, Estimator
from .context import CLOCK, Clock, Usage
from .tickets import Job

log = logging.getLogger(__name__)


def calibrate(
    engine: Seq2SeqEngine, text: str, params: GenerationParams, batch_size: int, clock: Clock = CLOCK
) -> Calibration:
    """Run ``batch_size`` copies of ``text`` as one batch (blocking, before serving) and
    measure where admission's estimates start."""
    started = clock()
    results = engine.generate([text] * batch_size, params)
    seconds = max(clock() - started, 1e-6)
    usage = Usage.of(results)
    read = max(1, usage.input_tokens)
    work = read + usage.output_tokens
    measured = Calibration(
        tokens_per_second=work / seconds,
        tokens_per_input_token=work / read,
        tokens_per_char=engine.count_tokens(text) / max(1, len(text)),
    )
    workers = engine.info.workers
    log.info(
        "%s: %.0f tokens/s on a batch of %d (%.2f s) on one of %d model workers, so about %.0f tokens/s in all; "
        "%.2f tokens of work per input token",
        engine.info.task.value,
        measured.tokens_per_second,
        batch_size,
        seconds,
        workers,
        measured.tokens_per_second * workers,
        measured.tokens_per_input_token,
    )
    return measured


class ModelWorker:
    def __init__(
        self,
        engine: Seq2SeqEngine,
        executor: Executor,
        estimator: Estimator,
        *,
        backlog: Callable[[], int],
        timeout: float = 0.0,
        clock: Clock = CLOCK,
    ) -> None:
        self.engine = engine
        self._timeout = timeout  # the watchdog: longest a model call may run (0: none)
        self._executor = executor
        self._estimator = estimator
        self._backlog = backlog  # jobs still waiting for a batch
        self._clock = clock
        self._task = engine.info.task.value
        # By worker: the end of its last batch, while jobs were still waiting.
        self._busy_since: dict[int, float | None] = {}
        metrics.THROUGHPUT.labels(self._task).set(estimator.tokens_per_second * estimator.workers)

    async def run(self, batch: Sequence[Job], *, slot: int = 0) -> None:
        """Run ``batch`` on worker ``slot`` and resolve each job's future with its generation (or its
        error). Raises ``EngineFault`` when the engine hangs or its thread dies: no later batch can run."""
        started = self._clock()
        try:
            results = await self._call([job.text for job in batch], batch[0].params)
        except EngineFault:
            raise
        except Exception as error:
            # Type and frames only: the error's message may quote the input, and article text never goes to the log.
            log.error(
                "%s batch of %d failed; retrying its jobs one by one: %s\n%s",
                self._task,
                len(batch),
                type(error).__name__,
                "".join(traceback.format_tb(error.__traceback__)),
            )
            await self._run_one_by_one(batch, error)
            return
        ended = self._clock()
        self._measure(results, started, ended, slot)
        for ticket in {id(job.ticket): job.ticket for job in batch}.values():
            ticket.batch_seconds += ended - started
        for job, result in zip(batch, results, strict=True):
            self._resolve(job, result)

    async def _call(self, texts: list[str], params: GenerationParams) -> list[Generation]:
        """One model call on the inference thread, watched: ``EngineFault`` when it runs past the
        watchdog (the thread cannot be stopped, so nothing may be queued behind it), when the
        thread is gone, or when what escapes it is no ordinary error (SystemExit...)."""
        loop = asyncio.get_running_loop()
        try:
            call = loop.run_in_executor(self._executor, self.engine.generate, texts, params)
        except RuntimeError as error:  # the executor was shut down or broken: its thread is gone
            raise EngineFault(f"the {self._task} inference thread is gone ({error})") from error
        try:
            return await asyncio.wait_for(asyncio.shield(call), self._timeout or None)
        except TimeoutError as error:
            raise EngineFault(
                f"a {self._task} model call gave no answer in {self._timeout:.0f} s (--engine-timeout-seconds): "
                "the engine is taken as hung"
            ) from error
        except (Exception, asyncio.CancelledError):
            raise
        except BaseException as error:  # raised on the inference thread: it no longer serves
            raise EngineFault(f"the {self._task} inference thread died ({type(error).__name__})") from error

    def _measure(self, results: Sequence[Generation], started: float, ended: float, slot: int) -> None:
        task = self._task
        metrics.BATCH_SIZE.labels(task).observe(len(results))
        metrics.BATCH_SECONDS.labels(task).observe(ended - started)
        metrics.PADDED_INPUT_TOKENS.labels(task).inc(max(result.input_tokens for result in results) * len(results))
        usage = Usage.of(results)
        metrics.TOKENS.labels(task, "input").inc(usage.input_tokens)
        metrics.TOKENS.labels(task, "output").inc(usage.output_tokens)
        work = usage.tokens
        # While work is waiting, measure from the end of the worker's previous batch: the gap between
        # batches (planning, the transport, refusals on the event loop) is part of the service time.
        busy_since = self._busy_since.get(slot)
        since = started if busy_since is None else busy_since
        sample = self._estimator.observe_batch(work, ended - since, usage.input_tokens)
        self._busy_since[slot] = ended if self._backlog() else None
        if sample is not None:
            metrics.THROUGHPUT.labels(task).set(self._estimator.tokens_per_second * self._estimator.workers)
            log.debug(
                "%s: %d tokens in %.3f s (batch of %d): %.0f tokens/s; estimate %.0f tokens/s, %.2f per input token",
                task,
                work,
                ended - since,
                len(results),
                sample,
                self._estimator.tokens_per_second,
                self._estimator.tokens_per_input_token,
            )

    @staticmethod
    def _resolve(job: Job, result: Generation) -> None:
        job.ticket.done_tokens += Usage.of([result]).tokens
        if not job.future.done():
            job.future.set_result(result)

    async def _run_one_by_one(self, batch: Sequence[Job], batch_error: Exception) -> None:
        if len(batch) == 1:
            if not batch[0].future.done():
                batch[0].future.set_exception(batch_error)
            return
        for job in batch:
            if job.future.done():
                continue  # withdrawn meanwhile
            started = self._clock()
            try:
                (result,) = await self._call([job.text], job.params)
            except EngineFault:
                raise
            except Exception as error:
                log.error("%s job failed on its own: %s", self._task, type(error).__name__)
                if not job.future.done():
                    job.future.set_exception(error)
                continue
            job.ticket.batch_seconds += self._clock() - started
            self._resolve(job, result)
