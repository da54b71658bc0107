"""Client-side retries: UNAVAILABLE and RESOURCE_EXHAUSTED, with exponential backoff
and full jitter, honouring the server's pushback, inside the caller's overall deadline.

gRPC's service-config retry policy is not used: it caps attempts at 5, and when the
server's pushback lies beyond the deadline it waits anyway and ends in
DEADLINE_EXCEEDED. Here the caller gets the server's RESOURCE_EXHAUSTED at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import grpc

PUSHBACK_KEY = "grpc-retry-pushback-ms"
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts=1`` (or ``RetryPolicy.disabled()``) switches retries off."""

    max_attempts: int = 5
    initial_backoff: float = 0.2  # seconds
    max_backoff: float = 10.0
    multiplier: float = 2.0
    codes: frozenset[grpc.StatusCode] = field(default=RETRYABLE)

    @classmethod
    def disabled(cls) -> RetryPolicy:
        return cls(max_attempts=1)

    def delay(
        self, attempt: int, error: grpc.RpcError, remaining: float, rng: random.Random | None = None
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up now:
        not retryable, out of attempts, or the wait would end past the deadline."""
        code = error.code() if hasattr(error, "code") else None
        if code not in self.codes or attempt >= self.max_attempts:
            return None
        draw = (rng or random).random()
        pushback = pushback_seconds(error)
        if pushback is not None:
            # The server said when; up to 20% later spreads the callers it refused together.
            wait = pushback * (1 + 0.2 * draw)
        else:
            wait = draw * min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        return wait if wait < remaining else None


def pushback_seconds(error: grpc.RpcError) -> float | None:
    """The server's ``grpc-retry-pushback-ms`` trailer, if any (a negative value means do not retry)."""
    trailers: Any = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for key, value in trailers or ():
        if key == PUSHBACK_KEY:
            try:
                milliseconds = int(value)
            except (TypeError, ValueError):
                return None
            return float("inf") if milliseconds < 0 else milliseconds / 1000
    return None
