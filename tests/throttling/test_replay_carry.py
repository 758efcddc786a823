"""The carried replay: a stream fed in consecutive slices (cut anywhere, inside one
millisecond and inside quota windows too) gives the whole-stream replay's decisions and
budget stop, for every SpikeArrest mode and Quota type, keyed and not, with a small carry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from copilot.throttling import replay, replay_quota, shares
from copilot.throttling.replay import SpikeArrestSpec
from copilot.throttling.replay_carry import Replayer
from copilot.throttling.replay_quota import QuotaSpec
from tests.paths import SAMPLE_LOG as SAMPLE

T0 = 1_763_251_200_000  # 2025-11-16 00:00:00 UTC, a midnight
SEC, MIN, HOUR, DAY = 1000, 60_000, 3_600_000, 86_400_000

# (name, spec, rows, span of the stream in ms): each stream is busy enough to be refused
# often and idle enough to be admitted often.
CASES = [
    ("smooth-ps", SpikeArrestSpec("10ps"), 600, 20 * SEC),
    ("smooth-pm", SpikeArrestSpec("30pm"), 600, 10 * MIN),
    ("smooth-burst-bucket", SpikeArrestSpec("300pm"), 1500, MIN),
    ("smooth-weight", SpikeArrestSpec("30ps", weight=3), 800, 20 * SEC),
    ("smooth-weight-over-bucket", SpikeArrestSpec("10ps", weight=2), 300, 20 * SEC),
    ("effective-ps", SpikeArrestSpec("7ps", use_effective_count=True), 600, 30 * SEC),
    ("effective-pm", SpikeArrestSpec("20pm", use_effective_count=True), 600, 10 * MIN),
    ("effective-weight", SpikeArrestSpec("10ps", True, weight=2), 600, 20 * SEC),
    ("calendar-hour", QuotaSpec(15, 1, "hour", "calendar", T0 + 17 * MIN + 123), 1200, 2 * DAY),
    ("calendar-2min", QuotaSpec(10, 2, "minute", "calendar", T0 + 7 * SEC), 600, HOUR),
    (
        "calendar-month",
        QuotaSpec(60, 1, "month", "calendar", T0 + 9 * DAY + 5 * HOUR),
        1000,
        120 * DAY,
    ),
    ("default-minute", QuotaSpec(3, 1, "minute", "default"), 600, HOUR),
    ("default-week", QuotaSpec(30, 1, "week", "default"), 1000, 60 * DAY),
    ("default-month", QuotaSpec(50, 1, "month", "default"), 800, 120 * DAY),
    ("flexi-minute", QuotaSpec(8, 1, "minute", "flexi"), 600, HOUR),
    ("flexi-hour", QuotaSpec(12, 1, "hour", "flexi"), 1200, 2 * DAY),
    ("rolling-minute", QuotaSpec(6, 1, "minute", "rollingwindow"), 600, HOUR),
    ("rolling-hour", QuotaSpec(12, 1, "hour", "rollingwindow"), 1200, 2 * DAY),
]
IDS = [c[0] for c in CASES]
SIZES = [1, 2, 7, 100]


def stream(seed: int, rows: int, span_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted epoch-ms times (half scattered, half in bursts of ties a few ms wide) and a
    skewed key per request."""
    rng = np.random.default_rng(seed)
    scattered = rng.integers(0, span_ms, rows // 2)
    centres = rng.integers(0, span_ms, max(rows // 40, 1))
    bursts = rng.choice(centres, rows - scattered.size) + rng.integers(0, 3, rows - scattered.size)
    ts = np.sort(np.r_[scattered, bursts]).astype(np.int64) + T0
    keys = rng.choice(5, ts.size, p=[0.5, 0.2, 0.15, 0.1, 0.05]).astype(np.int32)
    return ts, keys


def whole(ts, spec, keys=None, counted=None, budget=None) -> replay.Outcome:
    fn = replay_quota.quota if isinstance(spec, QuotaSpec) else replay.spike_arrest
    return fn(ts, spec, keys, counted, budget)


def random_cuts(ts: np.ndarray, seed: int) -> list[int]:
    """About 20 random cut points, a third of them inside one millisecond (if any has ties)."""
    rng = np.random.default_rng(seed)
    ties = np.flatnonzero(ts[1:] == ts[:-1]) + 1  # cutting before i splits ts[i]'s millisecond
    picks = np.r_[rng.integers(1, ts.size, 14), rng.choice(ties, 6 if ties.size else 0)]
    return sorted(set(picks.tolist()))


def slicings(ts: np.ndarray, seed: int) -> dict[str, list[int]]:
    """Cut points (row indices starting a new slice) by slicing strategy."""
    out = {f"{rows}-rows": list(range(rows, ts.size, rows)) for rows in SIZES}
    out["random"] = random_cuts(ts, seed)
    out["whole"] = []
    return out


def fed(replayer: Replayer, ts, keys, counted, cuts: list[int], after=None) -> np.ndarray:
    """The replayer's rejections over ``ts`` fed in slices starting at ``cuts``."""
    bounds = [0, *cuts, ts.size]
    parts = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        parts.append(
            replayer.feed(
                ts[a:b],
                None if keys is None else keys[a:b],
                None if counted is None else counted[a:b],
            )
        )
        if after is not None:
            after(replayer)
    return np.concatenate(parts)


def test_random_cuts_split_milliseconds_and_the_streams_have_ties() -> None:
    ts, _ = stream(1, 600, HOUR)
    cuts = random_cuts(ts, 1)
    assert np.unique(ts).size < ts.size * 0.8  # many requests share a millisecond
    assert any(ts[c] == ts[c - 1] for c in cuts)


@pytest.mark.parametrize("keyed", [False, True], ids=["unkeyed", "keyed"])
@pytest.mark.parametrize(("name", "spec", "rows", "span"), CASES, ids=IDS)
def test_sliced_feed_equals_the_whole_replay(name, spec, rows, span, keyed) -> None:
    seed = IDS.index(name) * 2 + keyed
    ts, keys = stream(seed, rows, span)
    keys = keys if keyed else None
    expected = whole(ts, spec, keys).rejected
    if name == "smooth-weight-over-bucket":  # a weight above the bucket passes nothing
        assert expected.all()
    else:  # the case exercises both decisions
        assert 0.05 < expected.mean() < 0.95, expected.mean()
    for how, cuts in slicings(ts, seed).items():
        got = fed(Replayer(spec, keyed), ts, keys, None, cuts)
        assert np.array_equal(got, expected), (how, np.flatnonzero(got != expected)[:5])


@pytest.mark.parametrize("keyed", [False, True], ids=["unkeyed", "keyed"])
@pytest.mark.parametrize(("name", "spec", "rows", "span"), CASES, ids=IDS)
def test_budget_stops_as_the_whole_replay_does(name, spec, rows, span, keyed) -> None:
    seed = 100 + IDS.index(name) * 2 + keyed
    ts, keys = stream(seed, rows, span)
    keys = keys if keyed else None
    counted = np.random.default_rng(seed).random(ts.size) < 0.7
    true = int((whole(ts, spec, keys).rejected & counted).sum())
    assert true > 2
    for budget in [0, true // 2, true - 1, true, true + 1, None]:
        stopped = whole(ts, spec, keys, counted, budget).stopped
        assert stopped == (budget is not None and true > budget)
        for how in ["7-rows", "random"]:
            replayer = Replayer(spec, keyed, budget)
            got = fed(replayer, ts, keys, counted, slicings(ts, seed)[how])
            assert replayer.stopped == stopped, (budget, how)
            if not stopped:
                assert np.array_equal(got, whole(ts, spec, keys).rejected)


def test_a_stopped_replayer_returns_nothing_more() -> None:
    ts, _ = stream(7, 600, 20 * SEC)
    replayer = Replayer(SpikeArrestSpec("10ps"), keyed=False, budget=3)
    first = replayer.feed(ts[:300], None, None)
    assert first.sum() > 3 and replayer.stopped
    assert not replayer.feed(ts[300:], None, None).any()


def limit_of(spec) -> int:
    if isinstance(spec, QuotaSpec):
        return spec.allow
    return spec.count // spec.weight


@pytest.mark.parametrize(("name", "spec", "rows", "span"), CASES, ids=IDS)
def test_the_carry_stays_small(name, spec, rows, span) -> None:
    ts, keys = stream(200 + IDS.index(name), rows, span)
    sliding = (
        spec.type == "rollingwindow" if isinstance(spec, QuotaSpec) else spec.use_effective_count
    )
    most = limit_of(spec) if sliding else 2
    sizes: list[int] = []

    def check(replayer: Replayer) -> None:
        sizes.extend(replayer.carried().values())

    fed(Replayer(spec, True), ts, keys, None, list(range(7, ts.size, 7)), check)
    assert sizes and max(sizes) <= most
    if sliding:  # the halo does fill up to the limit somewhere: the bound is the right one
        assert max(sizes) == most


def returning(
    seed: int, clients: int, gap_ms: int, first_key: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Each client sends a few bursts of ties, each about ``gap_ms`` (+-20 ms) after its
    previous one: they come back just before or just after their carry goes stale. Keys
    are ``first_key``, ``first_key + 1``, ... (int64)."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, 30 * MIN, clients)
    gaps = gap_ms + rng.integers(-20, 21, (clients, 6))
    bursts = starts[:, None] + np.cumsum(gaps, axis=1)  # (client, burst) -> time
    sizes = rng.integers(1, 9, bursts.shape).ravel()
    ts = np.repeat(bursts.ravel(), sizes) + rng.integers(0, 2, sizes.sum())
    keys = np.repeat(np.repeat(np.arange(clients, dtype=np.int64) + first_key, 6), sizes)
    order = np.argsort(ts, kind="stable")
    return ts[order].astype(np.int64) + T0, keys[order]


@pytest.mark.parametrize(
    ("spec", "gap_ms"),
    [
        (SpikeArrestSpec("6pm"), 10 * SEC),  # a bucket of one refills in 10 s
        (SpikeArrestSpec("3pm", use_effective_count=True), MIN),
        (QuotaSpec(5, 1, "minute", "rollingwindow"), MIN),
        (QuotaSpec(5, 1, "minute", "flexi"), MIN),
        (QuotaSpec(5, 1, "minute", "default"), MIN),
        (QuotaSpec(5, 1, "minute", "calendar", T0 + 1234), MIN),
    ],
)
def test_clients_that_went_quiet_are_dropped_and_come_back_right(spec, gap_ms) -> None:
    ts, keys = returning(11, 300, gap_ms)
    held: list[int] = []
    replayer = Replayer(spec, True)
    got = fed(replayer, ts, keys, None, list(range(40, ts.size, 40)),
              lambda r: held.append(len(r.carried())))  # fmt: skip
    assert np.array_equal(got, whole(ts, spec, keys).rejected)
    assert max(held) < 150, max(held)  # of 300 clients, only the recent ones


def test_a_keyed_replayer_needs_keys() -> None:
    with pytest.raises(ValueError, match="key per request"):
        Replayer(SpikeArrestSpec("10ps"), keyed=True).feed(np.array([T0]), None, None)


def test_an_empty_slice_changes_nothing() -> None:
    ts, keys = stream(9, 300, 20 * SEC)
    replayer = Replayer(SpikeArrestSpec("10ps"), keyed=True)
    parts = [replayer.feed(ts[:100], keys[:100], None)]
    assert replayer.feed(ts[:0], keys[:0], None).size == 0
    parts.append(replayer.feed(ts[100:], keys[100:], None))
    assert np.array_equal(np.concatenate(parts), whole(ts, SpikeArrestSpec("10ps"), keys).rejected)


@pytest.fixture(scope="module")
def sample_orders() -> tuple[np.ndarray, np.ndarray]:
    """The bundled sample's ``orders`` proxy: times in arrival order and a key per client."""
    log = pd.read_csv(SAMPLE, usecols=["client_received_start_timestamp", "apiproxy", "client_id"])
    log = log[log["apiproxy"] == "orders"].sort_values(
        "client_received_start_timestamp", kind="stable"
    )
    keys = pd.factorize(log["client_id"].fillna(""))[0].astype(np.int32)
    return log["client_received_start_timestamp"].to_numpy(np.int64), keys


SAMPLE_SPECS = [  # tight enough to refuse some of the sample's orders, keyed or not
    SpikeArrestSpec("30pm"),
    SpikeArrestSpec("6pm", use_effective_count=True),
    QuotaSpec(4, 1, "minute", "default"),
    QuotaSpec(20, 1, "hour", "rollingwindow"),
    QuotaSpec(20, 1, "hour", "flexi"),
    QuotaSpec(250, 1, "day", "calendar", 1_794_787_215_233 + 5 * HOUR),
]


@pytest.mark.parametrize("keyed", [False, True], ids=["unkeyed", "keyed"])
@pytest.mark.parametrize("spec", SAMPLE_SPECS, ids=[str(s) for s in range(len(SAMPLE_SPECS))])
def test_on_the_sample_slices_of_a_proxy_replay_as_the_whole(sample_orders, spec, keyed) -> None:
    ts, keys = sample_orders
    keys = keys if keyed else None
    expected = whole(ts, spec, keys).rejected
    assert expected.any() and not expected.all()
    for cut in [[a for a, _ in shares.cuts(ts, 7)][1:], list(range(1000, ts.size, 1000)),
                random_cuts(ts, 3)]:  # fmt: skip
        assert np.array_equal(fed(Replayer(spec, keyed), ts, keys, None, cut), expected)
