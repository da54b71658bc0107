"""What the server enforces: limits on requests (what a client must respect) and on the
scheduler's batches and queue."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class RequestLimits:
    """What a client must respect, beside each model's own limits (``ModelInfo``)."""

    max_texts: int = 64
    max_text_chars: int = 200_000
    max_beams: int = 16
    summary_tokens: tuple[int, int] = (8, 512)
    # TranslateRequest.alternatives: at most this many, and only on requests this short (all
    # texts together, in characters): alternatives widen the beam, for headlines, not articles.
    max_alternatives: int = 4
    max_alternatives_chars: int = 500

    @property
    def max_request_chars(self) -> int:
        """The most characters one TranslateRequest can carry, all texts together."""
        return self.max_texts * self.max_text_chars


@dataclass(frozen=True)
class SchedulerLimits:
    """How big a batch may be, how long the queue, and how much of a batch one request takes."""

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
    # Longest a model call may run before the engine is taken as hung (0: no watchdog).
    engine_timeout_seconds: float = 0.0
