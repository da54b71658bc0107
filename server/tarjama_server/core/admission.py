"""Admission by measured capacity: will a request finish before its deadline?

``Estimator`` holds what the server has measured of one model (tokens of work a second,
work per input token, input tokens per character, and how much later than predicted
calls finish) and predicts from it; every update takes its sample as an argument, so it
is tested with plain numbers. ``AdmissionController`` keeps the ledger of admitted
requests of one model, a ``Reservation`` each (its own record: the scheduler's queue is
the scheduler's), and decides, on an injected clock:

* ``reserve``: before any planning, judged on the text's length through the measured
  tokens per character, so a refusal under overload costs no tokenizing, and the
  request's work counts as queued while it is planned;
* ``settle``: once planned, its real token count replaces the estimate; a request that
  may be too big ever to fit is judged here, on its real tokens;
* ``review``: as batches complete, every admitted request's finish is estimated again
  from what is measured now; one that would end past its deadline is released early
  with a retry hint, never left to die at its deadline;
* ``release``: the request is over; what it really cost feeds the estimates.

Nothing here reads the scheduler's tickets: the scheduler reports each request's progress
(``progress``: work done, input tokens still queued) as it applies a change.

The estimates (``Estimator``) start from a calibration, one noisy measurement, and real
batches override it within a few samples; each is a total over recent samples without the
quarter most favourable to promises (so slower rates, longer outputs).

A request is refused at once (``OverloadedError`` with a retry hint) when the work
queued ahead of it and its own could not finish within ``deadline_margin`` of its
remaining deadline, or within ``max_queue_seconds`` when it has none. The queue is
bounded in seconds of work. Models that run on the same model workers count each other's
queued work as ahead: their controllers are members of one ``SharedWork``.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass

from .. import metrics
from ..errors import DeadlineExpiredError, InvalidRequestError, OverloadedError
from .context import CLOCK, Clock
from .limits import SchedulerLimits

# Weight of the newest sample in the moving averages: about the last ten requests count.
EMA_WEIGHT = 0.2
# Before anything is measured, admit freely: the first batches measure the rate.
UNMEASURED_TOKENS_PER_SECOND = 1e6
# Recent samples a robust estimate reads (batches), and how many real samples it takes
# to set the prior (the calibration) aside entirely.
WINDOW = 16
PRIOR_SAMPLES = 3


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """Where a model's estimates start: measured on one full batch before serving
    (``model_worker.calibrate``), so the first burst meets a measured rate, or assumed.
    A prior only: real batches override it within a few samples."""

    tokens_per_second: float = UNMEASURED_TOKENS_PER_SECOND
    tokens_per_input_token: float = 2.0
    # None: not measured; the first planned request measures it.
    tokens_per_char: float | None = None


class Measure:
    """A ratio measured over and over (tokens per second, work per input token), from samples
    of (amount, base): estimated robustly and on the side that keeps promises (``low``: a rate,
    whose overestimate lets accepted calls die; otherwise a cost, whose underestimate does).

    The estimate is the total amount over the total base of the last ``WINDOW`` samples, so a
    sample counts as much as the work or time it stands for (a lone small batch, slow per
    token, weighs what it took), without the quarter of them most favourable to promises: one
    outlier (a batch on a suddenly idle machine) moves it little. The prior (a calibration, or
    an assumption) is one noisy measurement: the same model calibrates 11 times faster on a
    quiet machine than on a busy one. So until ``PRIOR_SAMPLES`` samples exist, the estimate
    is the more pessimistic of the prior and the samples; after that the prior is set aside.

    ``value`` is worked out when a sample comes or the prior is reset, not on every read:
    admission reads it for each open request as every batch is formed."""

    def __init__(self, prior: float, *, low: bool) -> None:
        self.low = low
        self.samples: deque[tuple[float, float]] = deque(maxlen=WINDOW)
        self.reset(prior)

    def add(self, amount: float, base: float) -> None:
        if amount > 0 and base > 0:
            self.samples.append((amount, base))
            self.value = self._estimate()

    def reset(self, prior: float) -> None:
        self.prior = prior
        self.samples.clear()
        self.value = prior

    def _estimate(self) -> float:
        ordered = sorted(self.samples, key=lambda sample: sample[0] / sample[1], reverse=not self.low)
        kept = ordered[: len(ordered) - len(ordered) // 4]  # without the most favourable quarter
        measured = sum(amount for amount, _ in kept) / sum(base for _, base in kept)
        if len(self.samples) >= PRIOR_SAMPLES:
            return measured
        return min(self.prior, measured) if self.low else max(self.prior, measured)


class Estimator:
    """One model's measured rates, robust to a noisy start, and what they predict.

    ``workers``: model workers of this model that run batches at once (each measured
    rate is one worker's); work queued is shared among them."""

    def __init__(self, calibration: Calibration, *, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("an estimator needs at least one worker")
        self.workers = workers
        # Tokens (read + written) per second of inference, of one worker.
        self._rate = Measure(calibration.tokens_per_second, low=True)
        # Tokens of work (read + written, retries included) per input token: by request
        # (retries included) and by batch (how long outputs are: a model that never
        # stops early writes to its cap); the larger counts.
        self._request_cost = Measure(calibration.tokens_per_input_token, low=False)
        self._batch_cost = Measure(calibration.tokens_per_input_token, low=False)
        # Input tokens per character of text: lets admission judge a call before planning it.
        self.chars_measured = calibration.tokens_per_char is not None
        self.tokens_per_char = 0.5 if calibration.tokens_per_char is None else calibration.tokens_per_char
        # How much later than the model predicts calls really finish (>= 1): the time the
        # throughput model cannot see (transport, planning, the event loop under a flood of calls).
        self.lateness = 1.0

    @property
    def tokens_per_second(self) -> float:
        return self._rate.value

    @tokens_per_second.setter
    def tokens_per_second(self, value: float) -> None:
        self._rate.reset(value)

    @property
    def tokens_per_input_token(self) -> float:
        return max(self._request_cost.value, self._batch_cost.value)

    @tokens_per_input_token.setter
    def tokens_per_input_token(self, value: float) -> None:
        self._request_cost.reset(value)
        self._batch_cost.reset(value)

    def tokens_for_chars(self, chars: int) -> int:
        return round(chars * self.tokens_per_char)

    def work_tokens(self, input_tokens: float, most_tokens: float | None = None) -> float:
        """Tokens of work a request of ``input_tokens`` is expected to cost; ``most_tokens``
        caps it (what its output limits allow)."""
        expected = input_tokens * self.tokens_per_input_token
        return expected if most_tokens is None else min(expected, most_tokens)

    def seconds(self, work_tokens: float) -> float:
        """Seconds the workers need for ``work_tokens`` of work, queued work shared among them."""
        return work_tokens / (self.tokens_per_second * self.workers)

    def observe_batch(self, work_tokens: int, seconds: float, input_tokens: int = 0) -> float | None:
        """A batch read ``input_tokens`` and did ``work_tokens`` (read + written) in ``seconds``
        on one worker; returns the rate sample, or None when it was empty.

        Every batch counts, small ones too: a batch runs at the rate the current mix of work
        allows (retries with n-gram blocking are slower per token, a lone segment is slower
        than a full batch). Erring slow refuses a little early; erring fast lets accepted
        calls run late (``AdmissionController.review`` then releases them early)."""
        if seconds <= 0 or work_tokens <= 0:
            return None
        self._batch_cost.add(work_tokens, input_tokens)
        self._rate.add(work_tokens, seconds)
        return work_tokens / seconds

    def observe_chars(self, chars: int, input_tokens: int) -> None:
        """A request of ``chars`` characters was planned into ``input_tokens``."""
        if not (chars and input_tokens):
            return
        weight = EMA_WEIGHT if self.chars_measured else 1.0  # the first measurement replaces the guess
        self.tokens_per_char += weight * (input_tokens / chars - self.tokens_per_char)
        self.chars_measured = True

    def observe_request(self, input_tokens: int, done_tokens: int) -> None:
        """A request of ``input_tokens`` finished after ``done_tokens`` of work."""
        self._request_cost.add(done_tokens, input_tokens)

    def observe_finish(self, taken_seconds: float, model_seconds: float) -> None:
        """A request predicted at ``model_seconds`` (work ahead and its own) took ``taken_seconds``."""
        if not model_seconds:
            return
        # Estimates under a second are mostly fixed overhead: judged against one second.
        sample = min(10.0, max(1.0, taken_seconds / max(model_seconds, 1.0)))
        self.lateness += EMA_WEIGHT * (sample - self.lateness)


@dataclass(eq=False, kw_only=True)
class Reservation:
    """Admission's record of one admitted request: what it was judged on, what was promised,
    and the progress the scheduler last reported. Written by ``AdmissionController`` alone."""

    seq: int  # arrival order
    created: float  # on the core's clock, at admission
    deadline: float | None = None
    # Admitted without the capacity check: work that belongs to a request already accepted.
    forced: bool = False
    # The text length it was admitted by, before planning (0: admitted on tokens).
    chars: int = 0
    # Whether the capacity check was made at admission (else it is made once planned).
    checked: bool = True
    input_tokens: int = 0
    estimated_tokens: float = 0.0  # tokens of work (read + written, retries included) expected
    model_seconds: float = 0.0  # the throughput model's finish at admission, before lateness
    model_scale: float = 1.0  # seconds of work per input token the estimates implied then
    estimated_seconds: float = 0.0  # the finish promised: work ahead and its own, with lateness
    # Progress, as the scheduler reports it: tokens of work done, input tokens still queued.
    done_tokens: int = 0
    queued_input_tokens: int = 0
    # Set by ``review`` when released: the error its jobs fail with (then it leaves the ledger).
    released: OverloadedError | None = None


class SharedWork:
    """The ledgers of the models that run on the same model workers: the work queued in any
    of them is ahead of a new request in each. One per set of workers (``workers.WorkerSlots``)."""

    def __init__(self) -> None:
        self._members: list[AdmissionController] = []

    def join(self, member: AdmissionController) -> None:
        self._members.append(member)

    def seconds_besides(self, member: AdmissionController) -> float:
        """Seconds of work queued on the shared workers by the other members."""
        return sum(other.own_queued_seconds() for other in self._members if other is not member)


class AdmissionController:
    """The ledger of one model's admitted requests, and the decisions to admit them."""

    def __init__(
        self,
        estimator: Estimator,
        limits: SchedulerLimits,
        *,
        task: str,
        shared: SharedWork | None = None,
        clock: Clock = CLOCK,
    ) -> None:
        self.estimator = estimator
        self.limits = limits
        self.task = task
        self._clock = clock
        self.reservations: dict[int, Reservation] = {}  # open, in arrival order
        self._seq = itertools.count()
        # The models on the same workers: their queued work is ahead of ours too.
        self._shared = shared if shared is not None else SharedWork()
        self._shared.join(self)

    # -- the work queued ------------------------------------------------------------

    def remaining_tokens(self, reservation: Reservation) -> float:
        queued = reservation.queued_input_tokens * self.estimator.tokens_per_input_token
        return max(reservation.estimated_tokens - reservation.done_tokens, queued)

    def own_queued_seconds(self) -> float:
        return self.estimator.seconds(sum(map(self.remaining_tokens, self.reservations.values())))

    def queued_seconds(self) -> float:
        """Estimated seconds of work admitted and not yet done, on these model workers."""
        return self.own_queued_seconds() + self._shared.seconds_besides(self)

    def progress(self, seq: int, *, done_tokens: int, queued_input_tokens: int) -> None:
        """The scheduler's report of request ``seq``: ``done_tokens`` of work done so far,
        ``queued_input_tokens`` waiting for a batch."""
        reservation = self.reservations.get(seq)
        if reservation is not None:
            reservation.done_tokens = done_tokens
            reservation.queued_input_tokens = queued_input_tokens

    # -- decisions --------------------------------------------------------------------

    def reserve(self, *, chars: int, deadline: float | None, force: bool = False) -> Reservation:
        """A reservation for a text of ``chars`` characters, judged on its length before any
        planning; ``force`` admits without the check (work that belongs to a request
        already accepted, such as translating its summary)."""
        estimator = self.estimator
        tokens = estimator.tokens_for_chars(chars)
        estimated = estimator.work_tokens(tokens)
        own = estimator.seconds(estimated)
        ahead = self.queued_seconds()
        # A request that may be too big ever to fit is judged once planned, on its real tokens.
        checked = force or own <= self.limits.max_queue_seconds
        if checked and not force:
            self._refuse_if_late(ahead, own, deadline)
        reservation = Reservation(
            seq=next(self._seq),
            created=self._clock(),
            deadline=deadline,
            forced=force,
            chars=chars,
            checked=checked,
            input_tokens=tokens,
            estimated_tokens=estimated,
        )
        self._promise(reservation, ahead + own)
        self.reservations[reservation.seq] = reservation
        return reservation

    def settle(
        self, reservation: Reservation, *, input_tokens: int, most_tokens: float | None = None, jobs: int = 0
    ) -> None:
        """Planning is done: replace the length-based estimate with the real token count
        (``most_tokens`` caps the work; ``jobs`` is how many model inputs it queues).
        Raises when the request is too big ever to fit; the caller then releases it."""
        self.estimator.observe_chars(reservation.chars, input_tokens)
        reservation.input_tokens = input_tokens
        reservation.estimated_tokens = self.estimator.work_tokens(input_tokens, most_tokens)
        if reservation.forced:
            return
        own = self.estimator.seconds(reservation.estimated_tokens)
        if jobs > self.limits.max_queued_jobs:  # would never fit, however long the caller waits
            raise InvalidRequestError(
                f"this request needs {jobs} {self.task} jobs (segments), more than this server's "
                f"queue holds at all (max_queued_jobs={self.limits.max_queued_jobs}): "
                "send shorter or fewer texts per request"
            )
        if own > self.limits.max_queue_seconds:
            raise InvalidRequestError(
                f"this request is about {own:.0f} s of {self.task} work ({input_tokens} input tokens), "
                f"more than this server ever queues ({self.limits.max_queue_seconds:.0f} s, "
                "--max-queue-seconds): split it into smaller requests"
            )
        if not reservation.checked:
            ahead = self.queued_seconds() - own  # everything queued but this request itself
            self._refuse_if_late(ahead, own, reservation.deadline)
            self._promise(reservation, ahead + own)

    def review(self) -> list[Reservation]:
        """Re-estimate, from what is measured now, when each admitted request will finish
        (in arrival order: the work ahead of it, then its own) and release those that would
        end past their deadline. A released reservation leaves the ledger with ``released`` set
        (an ``OverloadedError`` with a retry hint), for the scheduler to fail its jobs with;
        the work it gives up no longer counts against those behind it. Run as each batch
        completes and once each request is planned: an accepted call finishes before its
        deadline or hears early, while a retry can still succeed, that it would not."""
        now, estimator = self._clock(), self.estimator
        lateness = estimator.lateness
        ahead = self._shared.seconds_besides(self)
        released: list[Reservation] = []
        for reservation in list(self.reservations.values()):
            if reservation.deadline is not None and now >= reservation.deadline:
                continue  # too late to warn: its queued jobs expire (the batch policy), they never run
            own = estimator.seconds(self.remaining_tokens(reservation))
            finish = (ahead + own) * lateness
            if reservation.deadline is None or now + finish <= reservation.deadline:
                ahead += own
                continue
            left = max(reservation.deadline - now, 0.0)
            retry_after = max(0.05, finish - left)
            reservation.released = OverloadedError(
                f"server busy: released before its deadline, which this request would now miss: about "
                f"{ahead * lateness:.1f} s of {self.task} work ahead and {own * lateness:.1f} s of its own "
                f"remain, {left:.1f} s before its deadline; retry in {retry_after:.1f} s or on another replica",
                retry_after=retry_after,
            )
            del self.reservations[reservation.seq]
            metrics.RELEASED.labels(self.task).inc()
            released.append(reservation)
        return released

    def release(self, reservation: Reservation, *, completed: bool) -> None:
        """The request is over. ``completed``: what it really cost feeds the estimates."""
        self.reservations.pop(reservation.seq, None)
        if completed:
            self.estimator.observe_request(reservation.input_tokens, reservation.done_tokens)
            if not reservation.forced:
                # Judged against what the estimates measured since then predict: lateness is the
                # time the throughput model cannot see, not a rate that has since been measured.
                remeasured = reservation.model_seconds * self._seconds_per_input_token() / reservation.model_scale
                self.estimator.observe_finish(self._clock() - reservation.created, remeasured)

    def _seconds_per_input_token(self) -> float:
        return self.estimator.seconds(self.estimator.tokens_per_input_token)

    def _promise(self, reservation: Reservation, model_seconds: float) -> None:
        reservation.model_seconds = model_seconds
        reservation.model_scale = self._seconds_per_input_token()
        reservation.estimated_seconds = model_seconds * self.estimator.lateness

    def _refuse_if_late(self, ahead: float, own: float, deadline: float | None) -> None:
        limit = self.limits.max_queue_seconds
        if deadline is not None:
            limit = min(limit, (deadline - self._clock()) * self.limits.deadline_margin)
        lateness = self.estimator.lateness
        ahead, own = ahead * lateness, own * lateness
        if ahead + own <= limit:
            return
        if deadline is not None and own > limit:
            # Too short a deadline even for an idle server: waiting would not help, so not "busy".
            raise DeadlineExpiredError(
                f"the deadline leaves {max(limit, 0):.1f} s usable, and this request needs about {own:.1f} s "
                "even on an idle server: give it a longer deadline"
            )
        metrics.REFUSED.labels(self.task).inc()
        # Waiting for the queue to drain this long would let a request like this one,
        # with a deadline as long as this one's, finish in time.
        retry_after = max(0.05, ahead + own - limit)
        bound = f"{limit:.1f} s left before its deadline" if deadline is not None else f"{limit:.0f} s wait bound"
        raise OverloadedError(
            f"server busy: about {ahead:.1f} s of {self.task} work queued ahead and {own:.1f} s for this "
            f"request, over its {bound}; retry in {retry_after:.1f} s or on another replica",
            retry_after=retry_after,
        )
