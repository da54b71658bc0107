"""Running batches on the model: the executor call, the retry one by one after a failed
batch, and the ``BatchOutcome`` it returns (each job's generation or error, the timings,
the usage); and the start-up calibration, one full batch measured before serving.

``ModelWorker.run`` writes nothing but its own log: it resolves no future, credits no
ticket and feeds no estimate. The scheduler applies the outcome (``Scheduler._apply``),
as vLLM's ``update_from_output`` applies a model runner's output.

Inference runs on the executor's threads, never on the event loop; with N model workers,
N batches run at once, each measured on its own worker. A failed batch is run
again job by job, so that only a job that fails on its own (the bad input) fails its
request and the others in its batch still succeed.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from ..engines.base import Generation, GenerationParams, Seq2SeqEngine
from ..errors import EngineFault
from .admission import Calibration
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


@dataclass(frozen=True, kw_only=True)
class JobOutcome:
    """What became of one job of a batch: its generation, or the error it failed with."""

    job: Job
    generation: Generation | None = None
    error: Exception | None = None
    # Model time that carried it on its own (a retry one by one); 0 when it ran in the whole batch.
    own_seconds: float = 0.0


@dataclass(frozen=True, kw_only=True)
class BatchOutcome:
    """What a batch did on worker ``slot``, for the scheduler to apply. ``whole``: the batch ran
    as one model call from ``started`` to ``ended`` (its timing measures throughput); else it
    failed and its jobs ran one by one. ``fault``: the engine hung or its thread died (no later
    batch can run); jobs it never reached are absent from ``jobs``."""

    slot: int
    started: float
    ended: float
    jobs: tuple[JobOutcome, ...]
    whole: bool
    fault: EngineFault | None = None

    @property
    def generations(self) -> list[Generation]:
        return [outcome.generation for outcome in self.jobs if outcome.generation is not None]

    @property
    def usage(self) -> Usage:
        return Usage.of(self.generations)


class ModelWorker:
    def __init__(
        self, engine: Seq2SeqEngine, executor: Executor, *, timeout: float = 0.0, clock: Clock = CLOCK
    ) -> None:
        self.engine = engine
        self._timeout = timeout  # the watchdog: longest a model call may run (0: none)
        self._executor = executor
        self._clock = clock
        self._task = engine.info.task.value

    async def run(self, batch: Sequence[Job], *, slot: int = 0) -> BatchOutcome:
        """Run ``batch`` on worker ``slot``: what each job gave. A hung engine or a dead inference
        thread comes back as the outcome's ``fault``."""
        started = self._clock()
        try:
            results = await self._call([job.text for job in batch], batch[0].params)
        except EngineFault as fault:
            return BatchOutcome(slot=slot, started=started, ended=self._clock(), jobs=(), whole=False, fault=fault)
        except Exception as error:
            # Type and frames only: the error's message may quote the input, and article text never goes to the log.
            log.error(
                "%s batch of %d failed; retrying its jobs one by one: %s\n%s",
                self._task,
                len(batch),
                type(error).__name__,
                "".join(traceback.format_tb(error.__traceback__)),
            )
            return await self._run_one_by_one(batch, error, slot, started)
        return BatchOutcome(
            slot=slot,
            started=started,
            ended=self._clock(),
            jobs=tuple(JobOutcome(job=job, generation=result) for job, result in zip(batch, results, strict=True)),
            whole=True,
        )

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

    async def _run_one_by_one(
        self, batch: Sequence[Job], batch_error: Exception, slot: int, started: float
    ) -> BatchOutcome:
        if len(batch) == 1:
            only = JobOutcome(job=batch[0], error=batch_error)
            return BatchOutcome(slot=slot, started=started, ended=self._clock(), jobs=(only,), whole=False)
        outcomes: list[JobOutcome] = []
        for job in batch:
            if job.future.done():
                continue  # withdrawn meanwhile
            job_started = self._clock()
            try:
                (result,) = await self._call([job.text], job.params)
            except EngineFault as fault:
                ended = self._clock()
                return BatchOutcome(
                    slot=slot, started=started, ended=ended, jobs=tuple(outcomes), whole=False, fault=fault
                )
            except Exception as error:
                log.error("%s job failed on its own: %s", self._task, type(error).__name__)
                outcomes.append(JobOutcome(job=job, error=error))
                continue
            outcomes.append(JobOutcome(job=job, generation=result, own_seconds=self._clock() - job_started))
        return BatchOutcome(slot=slot, started=started, ended=self._clock(), jobs=tuple(outcomes), whole=False)
