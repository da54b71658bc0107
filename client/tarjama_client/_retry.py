"""Every decision of a call, on the caller's clock: how long each attempt may take, whether
and when to try again, and what the caller hears. The sync and asyncio clients only do the
I/O and the waiting (``client.py``, ``aio.py``), as httpx's two clients share ``BaseClient``.

Retries: UNAVAILABLE and RESOURCE_EXHAUSTED, with exponential backoff and full jitter,
honouring the server's pushback, inside the caller's overall deadline. gRPC's
service-config retry policy is not used: it caps attempts at 5, and when the server's
pushback lies beyond the deadline it waits anyway and ends in DEADLINE_EXCEEDED. Here the
caller gets the server's RESOURCE_EXHAUSTED at once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from .errors import ServerUnavailableError, TarjamaError, from_rpc_error

RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})
# An attempt is never sent with a timeout of 0 (gRPC would read it as "none").
MIN_ATTEMPT_SECONDS = 0.001

# Hears how each attempt of a call ended: (the error, or None on success; the attempt's seconds).
AttemptObserver = Callable[[TarjamaError | None, float], None]


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
        self, attempt: int, error: TarjamaError, remaining: float, rng: random.Random | None = None
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up now:
        not retryable, out of attempts, or the wait would end past the deadline."""
        if error.code not in self.codes or attempt >= self.max_attempts:
            return None
        draw = (rng or random).random()
        if error.retry_after is not None:
            # The server said when; up to 20% later spreads the callers it refused together.
            wait = error.retry_after * (1 + 0.2 * draw)
        else:
            wait = draw * min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        return wait if wait < remaining else None


class Attempts:
    """One call's attempts. ``now`` is any monotonic clock in seconds (the caller's).

    The I/O around it, the same for a unary call and a stream::

        attempts = Attempts(policy, timeout, now(), observe)
        while True:
            try:
                answer = send(timeout=attempts.start(now()))
            except grpc.RpcError as error:
                delay = attempts.failed(error, now())  # raises when the call gives up
            else:
                attempts.succeeded(now())
                return answer
            sleep(delay)
    """

    def __init__(self, policy: RetryPolicy, timeout: float, now: float, observe: AttemptObserver | None = None) -> None:
        self.policy = policy
        self.deadline = now + timeout
        self.observe = observe
        self.count = 0
        self._started = now

    def start(self, now: float) -> float:
        """An attempt begins: the seconds it may take (what is left of the call's timeout)."""
        self.count += 1
        self._started = now
        return max(self.deadline - now, MIN_ATTEMPT_SECONDS)

    def succeeded(self, now: float) -> None:
        if self.observe:
            self.observe(None, now - self._started)

    def failed(self, error: grpc.RpcError, now: float, *, answered: bool = False) -> float:
        """The attempt failed: the seconds to wait before the next one. Raises the caller's
        ``TarjamaError`` instead when the call gives up: not retryable, out of attempts or of
        time, or a stream that had already answered (its messages cannot be taken back)."""
        failure = from_rpc_error(error)
        if self.observe:
            self.observe(failure, now - self._started)
        delay = None if answered else self.policy.delay(self.count, failure, self.deadline - now)
        if delay is None:
            raise failure from None
        return delay


@dataclass
class Readiness:
    """``wait_until_ready``'s decisions: how long each health probe may take, and the error
    once the wait is over."""

    target: str
    timeout: float
    started: float
    last: str = "no answer"
    probe_seconds: float = 5.0

    def probe_timeout(self, now: float) -> float | None:
        """The next probe's timeout, or None when the wait is over."""
        remaining = self.started + self.timeout - now
        return min(self.probe_seconds, max(remaining, 0.1)) if remaining > 0 else None

    def heard(self, status: str) -> bool:
        """A probe answered ``status``: True when the server is ready."""
        self.last = status
        return status == "SERVING"

    def not_ready(self) -> ServerUnavailableError:
        return ServerUnavailableError(
            grpc.StatusCode.UNAVAILABLE, f"server at {self.target} not ready after {self.timeout:.0f}s ({self.last})"
        )
