"""The adaptive concurrency policy, driven as a plain object on a clock the test moves."""

from __future__ import annotations

import math

import pytest
from tarjama_client import AdaptiveConcurrency

SIZE = 800.0  # characters of a call; with the overhead of 200, one second is 0.001 s a unit


def finish(policy: AdaptiveConcurrency, now: float, seconds: float, calls: int = 1) -> None:
    for _ in range(calls):
        policy.on_success(now, seconds, SIZE)


def test_starts_modestly_and_doubles_each_round_trip_while_latency_holds() -> None:
    policy = AdaptiveConcurrency(maximum=64)
    assert policy.allowed(0.0) == 2
    finish(policy, 1.0, 1.0, calls=2)  # a round trip of 2 calls
    assert policy.allowed(1.0) == 4
    finish(policy, 2.0, 1.1, calls=4)
    assert policy.allowed(2.0) == 8


def test_never_above_the_cap_nor_below_the_floor() -> None:
    policy = AdaptiveConcurrency(maximum=5, initial=10)
    assert policy.allowed(0.0) == 5
    finish(policy, 1.0, 1.0, calls=50)
    assert policy.allowed(1.0) == 5
    for second in range(20):
        policy.on_overload(10.0 + second * 100)
    assert policy.allowed(5000.0) == 1
    with pytest.raises(ValueError, match="at least 1"):
        AdaptiveConcurrency(maximum=0)


def test_stops_growing_when_latency_rises_and_shrinks_if_it_keeps_rising() -> None:
    policy = AdaptiveConcurrency(maximum=64, initial=8)
    finish(policy, 1.0, 1.0, calls=8)
    assert policy.limit == 16
    # Calls now queue at the server: latency triples for the same size. One slow call is
    # noise; once the smoothed cost passes the tolerance, the limit shrinks, once a round trip.
    limits = []
    for _ in range(12):
        finish(policy, 2.0, 3.0)
        limits.append(policy.limit)
    drop = next(i for i in range(1, len(limits)) if limits[i] < limits[i - 1])
    assert 2 <= drop <= 10
    assert limits[:drop] == [17 + i for i in range(drop)]
    assert limits[drop] == pytest.approx(limits[drop - 1] * policy.latency_backoff)
    assert set(limits[drop:]) == {limits[drop]} and not policy.slow_start
    finish(policy, 6.0, 3.0)  # a round trip later, still slow
    assert policy.limit == pytest.approx(limits[drop] * policy.latency_backoff)


def test_one_slow_call_among_fast_ones_does_not_stop_the_growth() -> None:
    policy = AdaptiveConcurrency(maximum=64, initial=4)
    for second in range(1, 10):
        finish(policy, float(second), 1.0, calls=3)
        finish(policy, float(second), 4.0)  # it waited behind a batch
    assert policy.slow_start and policy.limit == 4 + 9 * 4


def test_latency_is_judged_per_character_so_long_items_do_not_look_slow() -> None:
    policy = AdaptiveConcurrency(maximum=64, initial=4)
    policy.on_success(1.0, 0.2, 200.0)  # a short item
    policy.on_success(1.0, 2.0, 4000.0)  # 10 times the time for 20 times the characters
    assert policy.limit == 6 and policy.slow_start


def test_after_congestion_it_grows_by_about_one_per_round_trip() -> None:
    policy = AdaptiveConcurrency(maximum=64, initial=16)
    finish(policy, 1.0, 1.0)
    policy.on_overload(2.0)
    assert policy.limit == pytest.approx(8.5)
    finish(policy, 10.0, 1.0, calls=8)
    assert 9.0 < policy.limit < 9.6


def test_overload_halves_once_for_calls_refused_together_and_honours_the_pushback() -> None:
    policy = AdaptiveConcurrency(maximum=64, initial=16)
    finish(policy, 1.0, 2.0)  # round trip 2 s
    for _ in range(10):  # ten calls refused by the same congestion
        policy.on_overload(5.0, pushback=3.0)
    assert policy.limit == pytest.approx(8.5)
    assert policy.allowed(5.0) == 0 and policy.wait(5.0) == pytest.approx(3.0)
    assert policy.allowed(7.9) == 0 and policy.wait(7.9) == pytest.approx(0.1)
    assert policy.allowed(8.0) == 8 and policy.wait(8.0) == 0.0
    policy.on_overload(9.5)  # within a round trip (2 s) after the pause: the same congestion
    assert policy.limit == pytest.approx(8.5)
    policy.on_overload(10.5)  # later congestion: halves again
    assert policy.limit == pytest.approx(4.25)


def test_a_negative_pushback_means_do_not_pause() -> None:
    policy = AdaptiveConcurrency(maximum=8, initial=8)
    policy.on_overload(1.0, pushback=math.inf)
    assert policy.allowed(1.0) == 4


def test_the_baseline_follows_a_server_that_became_slower_for_good() -> None:
    policy = AdaptiveConcurrency(maximum=64, initial=4)
    finish(policy, 0.0, 1.0)
    now = 1.0
    for _ in range(300):  # the server is 3 times slower from now on, at any concurrency
        now += 3.0
        finish(policy, now, 3.0)
    assert policy.baseline is not None and policy.smoothed <= policy.tolerance * policy.baseline
    before = policy.limit
    finish(policy, now + 3.0, 3.0)
    assert policy.limit > before  # growing again
