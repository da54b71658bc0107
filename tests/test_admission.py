"""Admission as plain arithmetic: the estimator on given samples, the controller on a
clock the test moves. No threads, no event loop, no engine."""

from __future__ import annotations

import pytest
from tarjama_server.core.admission import AdmissionController, Calibration, Estimator, SharedWork
from tarjama_server.core.limits import SchedulerLimits
from tarjama_server.errors import DeadlineExpiredError, InvalidRequestError, OverloadedError


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def controller(clock: ManualClock, shared: SharedWork | None = None, **limits: float) -> AdmissionController:
    """A ledger at 10 tokens of work a second, one token of work per input token and per character."""
    estimator = Estimator(Calibration(tokens_per_second=10.0, tokens_per_input_token=1.0, tokens_per_char=1.0))
    return AdmissionController(estimator, SchedulerLimits(**limits), task="translation", shared=shared, clock=clock)


def test_estimates_start_from_the_calibration_and_real_batches_override_it() -> None:
    assumed = Estimator(Calibration(tokens_per_second=100.0))
    assert (assumed.tokens_per_input_token, assumed.tokens_per_char, assumed.chars_measured) == (2.0, 0.5, False)
    assumed.observe_chars(100, 20)  # the first measurement replaces the guess
    assert assumed.tokens_per_char == pytest.approx(0.2)
    assumed.observe_chars(100, 70)  # later ones move it by a fifth
    assert assumed.tokens_per_char == pytest.approx(0.2 + 0.2 * (0.7 - 0.2))
    assert assumed.observe_batch(500, 2.0) == pytest.approx(250.0)
    assert assumed.tokens_per_second == pytest.approx(100.0)  # faster than the prior: not trusted yet
    assert assumed.observe_batch(0, 1.0) is None  # an empty batch measures nothing
    assumed.observe_batch(600, 2.0)
    assumed.observe_batch(400, 2.0)
    assert assumed.tokens_per_second == pytest.approx(250.0)  # three real batches set the prior aside: 1500 / 6 s
    assumed.observe_request(input_tokens=10, done_tokens=50)
    assert assumed.tokens_per_input_token == pytest.approx(5.0)  # costlier than assumed counts at once


def test_a_calibration_on_a_quiet_machine_gives_way_to_the_first_slow_batch() -> None:
    # The same model calibrated at 8,569 tokens/s on a quiet machine and ran at 771 on a busy one.
    quiet = Estimator(Calibration(tokens_per_second=8569.0))
    quiet.observe_batch(771, 1.0)
    assert quiet.tokens_per_second == pytest.approx(771.0)
    # ...and a calibration on a busy machine is set aside once the machine is measured quiet.
    busy = Estimator(Calibration(tokens_per_second=771.0))
    for _ in range(3):
        busy.observe_batch(8569, 1.0)
    assert busy.tokens_per_second == pytest.approx(8569.0)


def test_one_outlier_batch_moves_the_estimates_little() -> None:
    estimator = Estimator(Calibration(tokens_per_second=100.0))
    for rate in (100.0, 110.0, 90.0, 105.0, 95.0, 100.0, 100.0, 100.0):
        estimator.observe_batch(round(rate), 1.0)
    estimator.observe_batch(100_000, 1.0)  # the machine was idle for one batch: among the fastest quarter, left out
    assert 90.0 <= estimator.tokens_per_second <= 100.0
    estimator.observe_batch(1, 1.0)  # a lone tiny batch counts for the second it took
    assert 80.0 <= estimator.tokens_per_second <= 100.0


def test_outputs_longer_than_the_calibration_raise_the_cost_per_input_token_at_once() -> None:
    # Calibrated on a model that stops early; this one writes to its cap: 2.5 x + 8 new tokens.
    estimator = Estimator(Calibration(tokens_per_second=100.0, tokens_per_input_token=1.5))
    estimator.observe_batch(work_tokens=10 + 33, seconds=1.0, input_tokens=10)
    assert estimator.tokens_per_input_token == pytest.approx(4.3)
    assert estimator.work_tokens(100) == pytest.approx(430.0)


def test_parallel_workers_share_the_queued_work() -> None:
    one, two = (Estimator(Calibration(tokens_per_second=10.0), workers=n) for n in (1, 2))
    assert (one.seconds(100), two.seconds(100)) == (pytest.approx(10.0), pytest.approx(5.0))
    with pytest.raises(ValueError):
        Estimator(Calibration(), workers=0)


def test_lateness_is_judged_against_at_least_a_second_and_capped() -> None:
    estimator = Estimator(Calibration())
    estimator.observe_finish(taken_seconds=0.9, model_seconds=0.1)  # short work is mostly fixed overhead
    assert estimator.lateness == pytest.approx(1.0)
    estimator.observe_finish(taken_seconds=6.0, model_seconds=2.0)
    assert estimator.lateness == pytest.approx(1.0 + 0.2 * (3.0 - 1.0))
    estimator.observe_finish(taken_seconds=1000.0, model_seconds=2.0)  # one pathological call moves it by at most 10x
    assert estimator.lateness == pytest.approx(1.4 + 0.2 * (10.0 - 1.4))


def test_a_deadline_is_read_on_the_injected_clock() -> None:
    clock = ManualClock()
    ledger = controller(clock, max_queue_seconds=100.0, deadline_margin=0.8)
    ledger.reserve(chars=50, deadline=None)  # 5 s of work ahead
    ledger.reserve(chars=10, deadline=10.0)  # 5 + 1 s within 0.8 x 10 s: admitted
    clock.now = 4.0
    with pytest.raises(OverloadedError, match="before its deadline") as refused:
        ledger.reserve(chars=10, deadline=10.0)  # 6 + 1 s, but only 0.8 x 6 s left
    assert refused.value.retry_after == pytest.approx(7.0 - 4.8)
    with pytest.raises(DeadlineExpiredError, match="even on an idle server"):
        ledger.reserve(chars=100, deadline=10.0)  # 10 s of its own: waiting would not help


def test_refusals_and_releases_leave_the_ledger_as_it_was() -> None:
    clock = ManualClock()
    ledger = controller(clock, max_queue_seconds=10.0)
    kept = ledger.reserve(chars=80, deadline=None)
    with pytest.raises(OverloadedError):
        ledger.reserve(chars=30, deadline=None)
    too_big = ledger.reserve(chars=500, deadline=None)  # judged once planned: may never fit
    with pytest.raises(InvalidRequestError, match="--max-queue-seconds"):
        ledger.settle(too_big, input_tokens=500)
    ledger.release(too_big, completed=False)
    assert ledger.queued_seconds() == pytest.approx(8.0)
    ledger.release(kept, completed=False)
    assert ledger.queued_seconds() == 0.0


def test_a_request_too_many_jobs_for_the_queue_is_invalid_and_forced_work_is_never_refused() -> None:
    clock = ManualClock()
    ledger = controller(clock, max_queue_seconds=10.0, max_queued_jobs=3)
    ticket = ledger.reserve(chars=4, deadline=None)
    with pytest.raises(InvalidRequestError, match="max_queued_jobs=3"):
        ledger.settle(ticket, input_tokens=4, jobs=4)
    forced = ledger.reserve(chars=1000, deadline=1.0, force=True)  # the summary of an accepted request
    ledger.settle(forced, input_tokens=1000, jobs=10)
    assert forced.estimated_tokens == 1000


def test_models_on_one_inference_thread_count_each_others_work_as_ahead() -> None:
    clock = ManualClock()
    shared = SharedWork()  # one set of model workers
    translation = controller(clock, shared, max_queue_seconds=10.0)
    summarization = controller(clock, shared, max_queue_seconds=10.0)
    summarization.reserve(chars=90, deadline=None)  # 9 s of summarization
    assert translation.queued_seconds() == pytest.approx(9.0)
    with pytest.raises(OverloadedError, match=r"9\.0 s of translation work queued ahead"):
        translation.reserve(chars=20, deadline=None)


def test_a_finished_request_teaches_lateness_and_later_promises_include_it() -> None:
    clock = ManualClock()
    ledger = controller(clock)
    first = ledger.reserve(chars=20, deadline=None)  # 2 s predicted
    ledger.settle(first, input_tokens=20)
    first.done_tokens = 20
    clock.now = 6.0  # it took three times as long
    ledger.release(first, completed=True)
    assert ledger.estimator.lateness == pytest.approx(1.4)
    second = ledger.reserve(chars=10, deadline=None)
    assert (second.model_seconds, second.estimated_seconds) == (pytest.approx(1.0), pytest.approx(1.4))


def test_admitted_requests_that_would_now_miss_their_deadline_are_released_early_in_arrival_order() -> None:
    clock = ManualClock()
    ledger = controller(clock, max_queue_seconds=100.0, deadline_margin=1.0)
    first = ledger.reserve(chars=20, deadline=30.0)  # 2 s at the calibrated 10 tokens/s
    second = ledger.reserve(chars=20, deadline=30.0)  # 2 + 2 s
    unbounded = ledger.reserve(chars=20, deadline=None)
    third = ledger.reserve(chars=20, deadline=30.0)  # 6 + 2 s
    assert ledger.review() == []  # everything still fits
    for _ in range(3):
        ledger.estimator.observe_batch(1, 1.0)  # the machine turned ten times slower
    clock.now = 3.0
    released = ledger.review()  # 20 s each now: the first ends at 23 s, the second would end at 43 s
    assert released == [second, third]
    assert first.released is None and unbounded.released is None
    assert isinstance(second.released, OverloadedError)
    assert "released before its deadline" in str(second.released)
    # 40 s of work from now, 27 s left: a retry fits once 13 s of the queue have drained.
    assert second.released.retry_after == pytest.approx(13.0)
    # Released work no longer counts: the third was judged behind the first and the unbounded one.
    assert third.released is not None and third.released.retry_after == pytest.approx(60.0 - 27.0)
    assert set(ledger.reservations) == {first.seq, unbounded.seq}
    ledger.release(second, completed=False)  # the pipeline's close: no effect on the ledger
    assert ledger.queued_seconds() == pytest.approx(40.0)


def test_review_counts_work_done_and_forgets_nothing_still_queued() -> None:
    clock = ManualClock()
    ledger = controller(clock, max_queue_seconds=100.0, deadline_margin=1.0)
    ticket = ledger.reserve(chars=100, deadline=12.0)  # 10 s of work
    ledger.settle(ticket, input_tokens=100)
    clock.now = 5.0
    ledger.progress(
        ticket.seq, done_tokens=50, queued_input_tokens=0
    )  # half done in 5 s: 5 s left, 7 s before the deadline
    assert ledger.review() == []
    clock.now = 8.0  # no progress for 3 s: 5 s of work left, 4 s before the deadline
    assert ledger.review() == [ticket]


def test_lateness_learns_the_time_the_rates_cannot_see_not_a_rate_measured_since() -> None:
    clock = ManualClock()
    ledger = controller(clock)
    ticket = ledger.reserve(chars=20, deadline=None)  # 2 s at the calibrated 10 tokens/s
    ledger.settle(ticket, input_tokens=20)
    for _ in range(3):
        ledger.estimator.observe_batch(5, 1.0)  # the model runs at half the calibrated rate
    ledger.progress(ticket.seq, done_tokens=20, queued_input_tokens=0)
    clock.now = 4.0  # as the measured rate predicts: no lateness
    ledger.release(ticket, completed=True)
    assert ledger.estimator.lateness == pytest.approx(1.0)
