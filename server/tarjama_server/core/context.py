"""What a call brings into the core and what it takes out, whatever the transport.

A transport builds one ``RequestContext`` per call (its request id and deadline) and
hands it to a pipeline; the pipeline's result (or last event) carries a ``Report`` (usage
and timings), and the pipeline also sends it to the ``ReportSink`` the transport gave at
admission once the run ends however it ends (a failed or cut call too), from which the
transport writes its access-log line. The transport never reads the core's state. Deadlines and timings are read on
one clock, ``CLOCK``, everywhere in the core.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..engines.base import Generation

Clock = Callable[[], float]
# The core's one clock: deadlines, admission, batch timings and queue waits are all read on it.
CLOCK: Clock = time.monotonic


@dataclass(frozen=True, kw_only=True)
class RequestContext:
    """One call as the core sees it: who asked (``request_id``, in errors and logs) and by
    when (``deadline`` on ``CLOCK``; None when the caller set none)."""

    request_id: str
    deadline: float | None = None
    # When the call arrived, on CLOCK: responses report their total time from it.
    started: float = field(default_factory=lambda: CLOCK())

    @classmethod
    def starting_now(cls, *, request_id: str, timeout: float | None, clock: Clock = CLOCK) -> RequestContext:
        """A context whose deadline is ``timeout`` seconds from now (None: no deadline)."""
        now = clock()
        return cls(request_id=request_id, deadline=None if timeout is None else now + timeout, started=now)


@dataclass(frozen=True, kw_only=True)
class Usage:
    """Tokens the models read and wrote for a call, retries included."""

    input_tokens: int = 0
    output_tokens: int = 0

    @classmethod
    def of(cls, generations: Iterable[Generation]) -> Usage:
        """What the model read and wrote for ``generations``."""
        read = written = 0
        for generation in generations:
            read += generation.input_tokens
            written += generation.output_tokens
        return cls(input_tokens=read, output_tokens=written)

    @property
    def tokens(self) -> int:
        """Tokens of work: read and written."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens, output_tokens=self.output_tokens + other.output_tokens
        )


@dataclass(frozen=True, kw_only=True)
class Timings:
    """Where a call's time went, as the scheduler saw it."""

    # From admission until its first job went into a batch.
    queue_seconds: float = 0.0
    # Admission's estimate of its finish: the work queued ahead and its own, at admission.
    estimated_seconds: float = 0.0
    # Wall time of the model batches that carried its work (shared with other calls' jobs).
    model_seconds: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Report:
    """What a call cost: texts, the segments (or summary chunks) the models worked on,
    usage and timings. The transport's access-log line is made from it."""

    texts: int = 0
    segments: int = 0
    usage: Usage = field(default_factory=Usage)
    timings: Timings = field(default_factory=Timings)
    # Characters a model read for this call (what an API key's quota counts): text passed
    # through, cache hits and memory hits are free.
    model_characters: int = 0


# Told a call's report once its run ends, however it ends (the transport's access log).
ReportSink = Callable[[Report], None]
