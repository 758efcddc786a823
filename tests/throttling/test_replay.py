"""The replay simulator: hand-computed SpikeArrest and Quota cases, and agreement with
slow reference limiters and with the gateway emulator on random traffic."""

from __future__ import annotations

import numpy as np
import pytest

from copilot.throttling import replay, replay_quota
from copilot.throttling.replay import SpikeArrestSpec
from copilot.throttling.replay_quota import QuotaSpec
from tests.throttling.reference import emulator_rejections, sliding, token_bucket

T0 = 1_763_251_200_000  # 2025-11-16 00:00:00 UTC, a midnight


def rejected(ts, spec, keys=None) -> list[int]:
    """Indices the replay rejects."""
    ts = np.asarray(ts, dtype=np.int64) + T0
    keys = None if keys is None else np.asarray(keys)
    fn = replay_quota.quota if isinstance(spec, QuotaSpec) else replay.spike_arrest
    return np.flatnonzero(fn(ts, spec, keys).rejected).tolist()


@pytest.mark.parametrize(
    ("offsets_ms", "rate", "expected"),
    [
        # 30pm smooths to one request per 2 s with a burst bucket of 3 (30 // 10):
        # three at once pass, the fourth is refused, one more passes 2 s later.
        ([0, 0, 0, 0, 2000], "30pm", [3]),
        ([0, 0, 0, 0, 1999], "30pm", [3, 4]),
        # 10ps is one per 100 ms with a bucket of 1: back-to-back requests are refused.
        ([0, 50, 100, 150, 200], "10ps", [1, 3]),
        # 1pm: one a minute.
        ([0, 30_000, 59_999, 60_000, 61_000], "1pm", [1, 2, 4]),
        # 300pm: a bucket of 30 (the fault text's maxBurstMessageCount=30).
        ([0] * 31, "300pm", [30]),
        # An idle gap refills the bucket, but never beyond its size.
        ([0, 0, 0, 60_000, 60_000, 60_000, 60_000], "30pm", [6]),
    ],
)
def test_smoothing_spaces_requests_evenly_with_a_small_burst(offsets_ms, rate, expected) -> None:
    assert rejected(offsets_ms, SpikeArrestSpec(rate)) == expected


@pytest.mark.parametrize(
    ("offsets_ms", "rate", "expected"),
    [
        # UseEffectiveCount: a sliding count, at most N in any period.
        ([0, 1, 2, 3, 59_999], "3pm", [3, 4]),
        ([0, 1, 2, 60_000, 60_001, 60_002], "3pm", []),
        ([0, 1, 2, 60_000, 60_001, 60_002, 60_003], "3pm", [6]),
        # Rejected requests do not count towards the window.
        ([0, 10, 20, 30, 40, 1000, 1010], "2ps", [2, 3, 4]),
    ],
)
def test_effective_count_is_a_sliding_count_per_period(offsets_ms, rate, expected) -> None:
    assert rejected(offsets_ms, SpikeArrestSpec(rate, use_effective_count=True)) == expected


def test_identifiers_have_their_own_counters() -> None:
    spec = SpikeArrestSpec("1pm")
    assert rejected([0, 1, 2, 3], spec, keys=[7, 8, 7, 8]) == [2, 3]
    assert rejected([0, 1, 2, 3], spec) == [1, 2, 3]


HOUR = 3_600_000


@pytest.mark.parametrize(
    ("offsets_ms", "spec", "expected"),
    [
        # calendar: windows start at StartTime (here 00:30) and repeat every hour.
        (
            [0, 10, 40 * 60_000, 41 * 60_000, 42 * 60_000, 91 * 60_000],
            QuotaSpec(2, 1, "hour", "calendar", T0 + 30 * 60_000),
            [4],
        ),
        # default type: the top of the (UTC) hour resets the counter.
        (
            [0, 10, 20, HOUR - 1, HOUR, HOUR + 1, HOUR + 2],
            QuotaSpec(3, 1, "hour", "default"),
            [3],
        ),
        # rollingwindow: the trailing hour, whatever the clock says.
        (
            [0, 10, 20, HOUR - 1, HOUR, HOUR + 5, HOUR + 11],
            QuotaSpec(3, 1, "hour", "rollingwindow"),
            [3, 5],
        ),
        # flexi: the window opens at the first request and lasts an hour.
        (
            [5 * 60_000, 6 * 60_000, 7 * 60_000, HOUR + 4 * 60_000, HOUR + 5 * 60_000],
            QuotaSpec(2, 1, "hour", "flexi"),
            [2, 3],
        ),
        # interval 2 x day: one window for two days.
        ([0, 86_400_000, 2 * 86_400_000], QuotaSpec(1, 2, "day", "default"), [1]),
        # calendar months follow the calendar (Nov 16 StartTime: Dec 16 starts the next).
        (
            [0, 14 * 86_400_000, 30 * 86_400_000],
            QuotaSpec(1, 1, "month", "calendar", T0),
            [1],
        ),
    ],
)
def test_quota_windows(offsets_ms, spec, expected) -> None:
    assert rejected(offsets_ms, spec) == expected


def test_weekly_default_quota_resets_at_sunday_midnight_gmt() -> None:
    # T0 (2025-11-16) is a Sunday: Sunday 23:59:59.999 and Monday 00:00 are different weeks,
    # Monday 00:00 and the next Sunday 23:59 the same one.
    monday = 86_400_000
    week = QuotaSpec(1, 1, "week", "default")
    assert rejected([monday - 1, monday], week) == []
    assert rejected([monday, monday + 7 * 86_400_000 - 1], week) == [1]


def _random_streams(seed: int, count: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.integers(1, 2500))
        mean_gap = float(rng.choice([5, 50, 500, 5000]))
        gaps = np.where(rng.random(n) < 0.25, 0, rng.exponential(mean_gap, n))
        yield rng, T0 + np.cumsum(gaps).astype(np.int64)


def test_smoothing_matches_an_exact_token_bucket_on_random_traffic() -> None:
    for rng, ts in _random_streams(1, 250):
        count = int(rng.integers(1, 500))
        period = int(rng.choice([1000, 60_000]))
        burst = max(1, count // 10)
        fast = replay.gcra(ts, count, period, burst)[0]
        assert (fast == token_bucket(ts, count, period, burst)).all()


def test_weighted_smoothing_matches_a_token_bucket_drawn_by_the_weight() -> None:
    # <MessageWeight> w: each request takes w tokens of the bucket, not "the rate // w".
    for rng, ts in _random_streams(4, 200):
        count = int(rng.integers(1, 500))
        period = int(rng.choice([1000, 60_000]))
        burst, cost = max(1, count // 10), int(rng.integers(1, 6))
        fast = replay.gcra(ts, count, period, burst, cost=cost)[0]
        assert (fast == token_bucket(ts, count, period, burst, cost)).all()


@pytest.mark.parametrize(
    ("offsets_ms", "spec", "expected"),
    [
        # 60pm, bucket 6, weight 2: three requests at once empty the bucket, the fourth waits
        # for 2 tokens (2 s).
        ([0, 0, 0, 0, 2000], SpikeArrestSpec("60pm", weight=2), [3]),
        # 25pm, weight 2: 2 tokens come back in 4.8 s. "rate // weight" (12pm, one per 5 s)
        # would refuse the second request.
        ([0, 4800], SpikeArrestSpec("25pm", weight=2), []),
        ([0, 4799], SpikeArrestSpec("25pm", weight=2), [1]),
        ([0, 0, 0, 0, 1999], SpikeArrestSpec("60pm", weight=2), [3, 4]),
        # A weight above the bucket (10ps: bucket 1) lets nothing through.
        ([0, 500, 1000], SpikeArrestSpec("10ps", weight=2), [0, 1, 2]),
        # UseEffectiveCount: at most 60 units a minute, 3 each: 20 requests.
        ([0] * 21, SpikeArrestSpec("60pm", True, weight=3), [20]),
    ],
)
def test_a_message_weight_draws_that_many_of_the_rate(offsets_ms, spec, expected) -> None:
    assert rejected(offsets_ms, spec) == expected


def test_sliding_count_matches_a_request_by_request_window_on_random_traffic() -> None:
    for rng, ts in _random_streams(2, 250):
        limit = int(rng.integers(1, 300))
        window = int(rng.choice([1000, 60_000, 3_600_000]))
        assert (replay.sliding_count(ts, limit, window) == sliding(ts, limit, window)).all()


@pytest.mark.parametrize("rate", ["1pm", "7pm", "30pm", "300pm", "10ps"])
def test_the_replay_agrees_with_the_gateway_emulator(rate: str) -> None:
    rng = np.random.default_rng(3)
    ts = np.sort(rng.integers(0, 600_000, 1500)).astype(np.int64) + T0
    ours = replay.spike_arrest(ts, SpikeArrestSpec(rate)).rejected
    theirs = emulator_rejections(ts, rate)
    # The emulator keeps tokens as floats; the replay is exact: at most a hair apart.
    assert (ours != theirs).sum() <= 0.005 * ts.size


def test_a_budget_stops_the_replay_once_exceeded() -> None:
    ts = T0 + np.arange(10_000, dtype=np.int64) * 10  # 100 requests/s
    counted = np.ones(ts.size, dtype=bool)
    stopped = replay.spike_arrest(ts, SpikeArrestSpec("1ps"), counted=counted, budget=5)
    assert stopped.stopped and stopped.rejected.sum() < ts.size
    full = replay.spike_arrest(ts, SpikeArrestSpec("1ps"))
    assert not full.stopped and full.rejected.sum() == ts.size - 100
    room = replay.spike_arrest(ts, SpikeArrestSpec("100ps"), counted=counted, budget=0)
    assert not room.stopped and room.rejected.sum() == 0


def test_sliding_count_is_the_same_when_its_candidates_are_walked_in_small_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(replay, "_HOT_BLOCK", 7)  # block edges fall inside every stream
    for rng, ts in _random_streams(5, 60):
        limit = int(rng.integers(1, 50))
        window = int(rng.choice([1000, 60_000]))
        assert (replay.sliding_count(ts, limit, window) == sliding(ts, limit, window)).all()
