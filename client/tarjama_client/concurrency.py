"""How many calls to keep in flight: adaptive concurrency (AIMD) as a pure policy.

No thread, no clock of its own: the caller says what happened and when (``now``, in seconds
on any monotonic clock), and asks how many calls it may have in flight and whether it must
wait. ``translate_many`` is the machinery around it.

* **Start modestly, grow fast** (slow start): +1 per call that finished with its latency
  holding, so the limit doubles each round trip, until the first sign of congestion.
* **Then grow slowly** (additive increase): +1 per limit's worth of calls that finished with
  their latency holding, about +1 per round trip.
* **Latency holds** while the recent cost of a call (seconds per character, smoothed over
  about ten calls) stays within ``tolerance`` × the best smoothed cost recently seen. A
  batching server keeps a call's latency flat while it has room in its batches; past that,
  calls only queue: latency grows with concurrency and throughput does not, so the limit
  stops growing, and shrinks by ``latency_backoff`` (at most once per round trip) when
  latency keeps rising.
* **Back off on overload** (multiplicative decrease): a RESOURCE_EXHAUSTED refusal halves the
  limit, once per round trip however many calls were refused together, and no new call
  starts until the server's pushback has passed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class AdaptiveConcurrency:
    """The limit on calls in flight, between ``minimum`` and ``maximum``."""

    maximum: int
    initial: int = 2
    minimum: int = 1
    # Latency holds while the smoothed cost is within this factor of the baseline.
    tolerance: float = 2.0
    # A call's size is its characters; this many more stand for the fixed cost of any call,
    # so a short item does not look slow next to a long one.
    overhead: float = 200.0
    backoff: float = 0.5  # on overload
    latency_backoff: float = 0.9  # when latency keeps rising past the tolerance
    # The baseline (best cost seen) creeps up by this share per call, so it follows a server
    # that became slower for good (other clients, fewer replicas) rather than pinning the limit low.
    drift: float = 0.01
    smoothing: float = 0.1  # weight of the newest cost in the smoothed cost

    limit: float = field(init=False)
    baseline: float | None = field(default=None, init=False)
    smoothed: float | None = field(default=None, init=False)
    paused_until: float = field(default=-math.inf, init=False)
    # No second decrease before this; -inf until the first decrease, which ends the slow start.
    calm_until: float = field(default=-math.inf, init=False)
    round_trip: float = field(default=0.0, init=False)  # the latest call's seconds
    highest: int = field(default=0, init=False)  # the most calls it has allowed at once

    def __post_init__(self) -> None:
        if not 1 <= self.minimum <= self.maximum:
            raise ValueError(f"concurrency must be at least 1 (minimum {self.minimum}, maximum {self.maximum})")
        self.limit = float(min(max(self.initial, self.minimum), self.maximum))
        self.highest = int(self.limit)

    @property
    def slow_start(self) -> bool:
        """Still growing fast: no sign of congestion yet (no decrease has set ``calm_until``)."""
        return self.calm_until == -math.inf

    def allowed(self, now: float) -> int:
        """How many calls may be in flight now (0 while a pushback lasts)."""
        return 0 if now < self.paused_until else int(self.limit)

    def wait(self, now: float) -> float:
        """Seconds until a new call may start (0 when it may start now), given room under ``allowed``."""
        return max(self.paused_until - now, 0.0)

    def on_success(self, now: float, seconds: float, size: float = 0.0) -> None:
        """A call of ``size`` (characters) finished in ``seconds``."""
        self.round_trip = seconds
        cost = seconds / (size + self.overhead)
        if self.baseline is None or self.smoothed is None:
            self.baseline = self.smoothed = cost
        else:
            # The baseline is the best *smoothed* cost: one lucky call (it caught a batch just
            # starting) does not set it, nor one unlucky call stop the growth.
            self.smoothed += self.smoothing * (cost - self.smoothed)
            self.baseline = min(self.smoothed, self.baseline * (1 + self.drift))
        if self.smoothed <= self.tolerance * self.baseline:
            self.limit = min(self.maximum, self.limit + (1.0 if self.slow_start else 1.0 / self.limit))
            self.highest = max(self.highest, int(self.limit))
        else:
            self._decrease(now, self.latency_backoff)

    def on_overload(self, now: float, pushback: float | None = None) -> None:
        """A call was refused with RESOURCE_EXHAUSTED; ``pushback``: the server's retry hint in seconds."""
        pause = pushback if pushback is not None and math.isfinite(pushback) else 0.0
        self.paused_until = max(self.paused_until, now + pause)
        self._decrease(now, self.backoff, pause)

    def _decrease(self, now: float, factor: float, pause: float = 0.0) -> None:
        if now < self.calm_until:
            return  # the same congestion: calls refused together count once
        self.limit = max(float(self.minimum), self.limit * factor)
        # Calls that started before the decrease report for one more round trip after any pause.
        self.calm_until = now + pause + self.round_trip
