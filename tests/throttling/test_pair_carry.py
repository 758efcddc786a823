"""The carried CountOnly/EnforceOnly pair: a stream fed in consecutive slices (cut anywhere,
inside one millisecond and inside quota windows too) gives ``pair_rejected`` over the whole
stream, for every Quota type, keyed (-1 and 64-bit codes among the keys) and not, with a
small carry; dropping any part of the carry breaks it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from copilot.throttling import shares
from copilot.throttling.current_pair import pair_rejected
from copilot.throttling.pair_carry import PairReplayer
from copilot.throttling.replay_quota import QuotaSpec
from tests.paths import SAMPLE_LOG as SAMPLE
from tests.throttling.test_replay_carry import CASES as REPLAY_CASES
from tests.throttling.test_replay_carry import random_cuts, slicings
from tests.throttling.test_replay_carry import returning as carry_returning

T0 = 1_763_251_200_000  # 2025-11-16 00:00:00 UTC, a midnight
SEC, MIN, HOUR, DAY = 1000, 60_000, 3_600_000, 86_400_000
# Identity codes as the replays pass them: -1 is "no identifier" (one shared counter).
KEYS = np.array([-1, 0, 7, 1 << 40, (1 << 62) + 3], dtype=np.int64)

# (name, spec, rows, span of the stream in ms): the Quota cases of the single-policy
# replays, busy enough to be refused often, idle enough to be admitted often.
CASES = [c for c in REPLAY_CASES if isinstance(c[1], QuotaSpec)]
IDS = [c[0] for c in CASES]

Stream = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # ts, keys, enforced, counted


def stream(seed: int, rows: int, span_ms: int) -> Stream:
    """Sorted epoch-ms times (half scattered, half in bursts of ties a few ms wide), a
    skewed identity code per request, and random enforcer/counter marks (a request may
    carry either, both or, rarely, neither)."""
    rng = np.random.default_rng(seed)
    scattered = rng.integers(0, span_ms, rows // 2)
    centres = rng.integers(0, span_ms, max(rows // 40, 1))
    bursts = rng.choice(centres, rows - scattered.size) + rng.integers(0, 3, rows - scattered.size)
    ts = np.sort(np.r_[scattered, bursts]).astype(np.int64) + T0
    keys = rng.choice(KEYS, ts.size, p=[0.3, 0.3, 0.2, 0.15, 0.05])
    mark = rng.choice(4, ts.size, p=[0.3, 0.25, 0.4, 0.05])  # enforced, counted, both, neither
    return ts, keys, (mark == 0) | (mark == 2), (mark == 1) | (mark == 2)


def fed(
    replayer: PairReplayer,
    data: Stream,
    cuts: list[int],
    after: Callable[[PairReplayer], None] | None = None,
) -> np.ndarray:
    """The replayer's rejections over ``data`` fed in slices starting at ``cuts``."""
    ts, keys, enforced, counted = data
    bounds = [0, *cuts, ts.size]
    parts = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        part = slice(a, b)
        key_part = None if keys is None else keys[part]
        parts.append(replayer.feed(ts[part], key_part, enforced[part], counted[part]))
        if after is not None:
            after(replayer)
    return np.concatenate(parts)


def case_stream(name: str, keyed: bool, base: int = 0) -> tuple[QuotaSpec, Stream, int]:
    """A case's spec and seeded stream; keyed, five counters share the requests, so the
    allowance is a third (as busy a counter as unkeyed)."""
    _, spec, rows, span = CASES[IDS.index(name)]
    if keyed:
        spec = replace(spec, allow=spec.allow // 3)
    seed = base + IDS.index(name) * 2 + keyed
    ts, keys, enforced, counted = stream(seed, rows, span)
    return spec, (ts, keys if keyed else None, enforced, counted), seed


def whole(spec: QuotaSpec, data: Stream) -> np.ndarray:
    ts, keys, enforced, counted = data
    return pair_rejected(ts, keys, enforced, counted, spec)


def test_the_streams_have_ties_cut_inside_a_millisecond_and_every_mark() -> None:
    ts, keys, enforced, counted = stream(1, 600, HOUR)
    assert np.unique(ts).size < ts.size * 0.8  # many requests share a millisecond
    assert any(ts[c] == ts[c - 1] for c in random_cuts(ts, 1))
    assert set(np.unique(keys).tolist()) == set(KEYS.tolist())
    for e in (False, True):
        for c in (False, True):
            assert ((enforced == e) & (counted == c)).any()


@pytest.mark.parametrize("keyed", [False, True], ids=["unkeyed", "keyed"])
@pytest.mark.parametrize("name", IDS)
def test_sliced_feed_equals_the_whole_pair(name: str, keyed: bool) -> None:
    spec, data, seed = case_stream(name, keyed)
    expected = whole(spec, data)
    refusable = data[2].sum()
    assert 0.05 < expected.sum() / refusable < 0.95, expected.sum() / refusable
    assert not (expected & ~data[2]).any()  # only the enforcer refuses
    for how, cuts in slicings(data[0], seed).items():
        got = fed(PairReplayer(spec, keyed), data, cuts)
        assert np.array_equal(got, expected), (how, np.flatnonzero(got != expected)[:5])


SPANS = {"minute": 20 * MIN, "hour": 20 * HOUR, "day": 20 * DAY, "week": 100 * DAY,
         "month": 400 * DAY}  # fmt: skip


@pytest.mark.parametrize("seed", range(12))
def test_random_quotas_with_tiny_allowances_slice_as_the_whole(seed: int) -> None:
    """Seeded random specs (allowances 0 to 5, any type and unit, a random StartTime),
    short streams, keyed or not: the edges where a counter is full from the start."""
    rng = np.random.default_rng(1000 + seed)
    for trial in range(4):
        kind = str(rng.choice(["calendar", "default", "flexi", "rollingwindow"]))
        units = ["minute", "hour", "day"] + (
            ["week", "month"] if kind in ("calendar", "default") else []
        )
        unit = str(rng.choice(units))
        start = T0 + int(rng.integers(0, DAY))
        spec = QuotaSpec(int(rng.integers(0, 6)), int(rng.integers(1, 3)), unit, kind, start)
        ts, keys, enforced, counted = stream(
            seed * 10 + trial, int(rng.integers(2, 300)), SPANS[unit]
        )
        keyed = bool(trial % 2)
        data = (ts, keys if keyed else None, enforced, counted)
        expected = whole(spec, data)
        for how, cuts in slicings(ts, seed).items():
            got = fed(PairReplayer(spec, keyed), data, cuts)
            assert np.array_equal(got, expected), (trial, spec, how)


class Always(int):
    """A window number equal to (and not before) any other: the carry forgets its window."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ge__(self, other: object) -> bool:
        return True

    __hash__ = int.__hash__


# (type, what is dropped, carry -> the carry without it): each part of the carry matters.
MUTATIONS = [
    ("calendar-hour", "everything", lambda c: None),
    ("calendar-hour", "the count", lambda c: (c[0], 0)),
    ("calendar-hour", "the window", lambda c: (Always(c[0]), c[1])),
    ("calendar-month", "the count", lambda c: (c[0], 0)),
    ("default-week", "the count", lambda c: (c[0], 0)),
    ("default-minute", "the window", lambda c: (Always(c[0]), c[1])),
    ("flexi-minute", "everything", lambda c: None),
    ("flexi-minute", "the count", lambda c: (c[0], 0)),
    ("flexi-minute", "the close", lambda c: (c[0] + 10 * MIN, c[1])),  # a window left open
    ("flexi-hour", "the close", lambda c: (0, c[1])),  # a window taken as closed
    ("rolling-minute", "everything", lambda c: None),
    ("rolling-minute", "the oldest time", lambda c: c[1:]),
    ("rolling-hour", "the oldest time", lambda c: c[1:]),
]


@pytest.mark.parametrize("keyed", [False, True], ids=["unkeyed", "keyed"])
@pytest.mark.parametrize(
    ("name", "what", "drop"), MUTATIONS, ids=[f"{n}-{w}" for n, w, _ in MUTATIONS]
)
def test_dropping_any_part_of_the_carry_breaks_the_replay(name, what, drop, keyed) -> None:
    spec, data, _ = case_stream(name, keyed)

    def forget(replayer: PairReplayer) -> None:
        replayer._carry = {k: (None if c is None else drop(c)) for k, c in replayer._carry.items()}

    expected = whole(spec, data)
    cuts = list(range(7, data[0].size, 7))
    assert np.array_equal(fed(PairReplayer(spec, keyed), data, cuts), expected)
    assert not np.array_equal(fed(PairReplayer(spec, keyed), data, cuts, forget), expected), what


@pytest.mark.parametrize("name", ["calendar-2min", "flexi-minute", "rolling-minute"])
def test_the_unidentified_callers_carry_their_own_counter(name: str) -> None:
    """-1 is a key like any other: forgetting only its carry changes the answer."""
    spec, data, _ = case_stream(name, True)

    def forget(replayer: PairReplayer) -> None:
        replayer._carry.pop(-1, None)

    expected = whole(spec, data)
    cuts = list(range(7, data[0].size, 7))
    assert not np.array_equal(fed(PairReplayer(spec, True), data, cuts, forget), expected)
    assert np.array_equal(fed(PairReplayer(spec, True), data, cuts), expected)


@pytest.mark.parametrize("name", IDS)
def test_the_carry_stays_small(name: str) -> None:
    spec, data, _ = case_stream(name, True, base=200)
    most = spec.allow if spec.type == "rollingwindow" else 2
    sizes: list[int] = []
    fed(PairReplayer(spec, True), data, list(range(7, data[0].size, 7)),
        lambda r: sizes.extend(r.carried().values()))  # fmt: skip
    assert sizes and max(sizes) <= most
    if spec.type == "rollingwindow":  # the window does fill up to the allowance somewhere
        assert max(sizes) == most


def test_a_rolling_carry_keeps_only_the_latest_allowance_of_unenforced_counts() -> None:
    """Counted requests the enforcer never sees overfill the window; the carry keeps the
    latest ``allow`` and still refuses exactly as the whole stream does."""
    spec = QuotaSpec(3, 1, "minute", "rollingwindow")
    ts = T0 + np.array([0, 1, 2, 3, 4, 5, 30 * SEC, MIN + 2, MIN + 3, MIN + 5])
    enforced = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1], dtype=bool)
    counted = np.array([1, 1, 1, 1, 1, 1, 0, 1, 1, 1], dtype=bool)
    data = (ts, None, enforced, counted)
    replayer = PairReplayer(spec, False)
    first = fed(replayer, (ts[:6], None, enforced[:6], counted[:6]), [])
    assert replayer.carried() == {0: 3}  # six counted, the latest three kept
    rest = replayer.feed(ts[6:], None, enforced[6:], counted[6:])
    expected = whole(spec, data)
    # at +30 s six are inside; at +60 s + 2 still 3, 4 and 5 (refused, so not counted:
    # the earliest three kept would have admitted it); at +60 s + 3 only 4 and 5
    assert np.flatnonzero(expected).tolist() == [6, 7]
    assert np.array_equal(np.r_[first, rest], expected)


def returning(seed: int, clients: int, gap_ms: int) -> Stream:
    """The single-policy tests' returning clients (key -1 among them), with random
    enforced and counted marks."""
    ts, keys = carry_returning(seed, clients, gap_ms, first_key=-1)
    rng = np.random.default_rng(seed + 1)
    return ts, keys, rng.random(ts.size) < 0.8, rng.random(ts.size) < 0.8


@pytest.mark.parametrize(
    "spec",
    [
        QuotaSpec(5, 1, "minute", "rollingwindow"),
        QuotaSpec(5, 1, "minute", "flexi"),
        QuotaSpec(5, 1, "minute", "default"),
        QuotaSpec(5, 1, "minute", "calendar", T0 + 1234),
    ],
    ids=lambda s: s.type,
)
def test_clients_that_went_quiet_are_dropped_and_come_back_right(spec: QuotaSpec) -> None:
    data = returning(11, 300, MIN)
    held: list[int] = []
    got = fed(PairReplayer(spec, True), data, list(range(40, data[0].size, 40)),
              lambda r: held.append(len(r.carried())))  # fmt: skip
    expected = whole(spec, data)
    assert expected.any() and np.array_equal(got, expected)
    assert max(held) < 150, max(held)  # of 300 clients, only the recent ones


def test_a_keyed_pair_needs_keys() -> None:
    with pytest.raises(ValueError, match="key per request"):
        PairReplayer(QuotaSpec(2), keyed=True).feed(np.array([T0]), None, [True], [True])


def test_an_empty_slice_changes_nothing() -> None:
    spec, data, _ = case_stream("flexi-minute", True)
    ts, keys, enforced, counted = data
    replayer = PairReplayer(spec, True)
    parts = [replayer.feed(ts[:100], keys[:100], enforced[:100], counted[:100])]
    assert replayer.feed(ts[:0], keys[:0], enforced[:0], counted[:0]).size == 0
    parts.append(replayer.feed(ts[100:], keys[100:], enforced[100:], counted[100:]))
    assert np.array_equal(np.concatenate(parts), whole(spec, data))


@pytest.fixture(scope="module")
def sample_orders() -> Stream:
    """The bundled sample's ``orders`` proxy: times in arrival order, a code per client
    (a tenth of them unidentified: -1), and seeded enforcer/counter marks."""
    log = pd.read_csv(SAMPLE, usecols=["client_received_start_timestamp", "apiproxy", "client_id"])
    log = log[log["apiproxy"] == "orders"].sort_values(
        "client_received_start_timestamp", kind="stable"
    )
    keys = pd.factorize(log["client_id"])[0].astype(np.int64)
    rng = np.random.default_rng(5)
    keys[rng.random(keys.size) < 0.1] = -1
    enforced, counted = rng.random(keys.size) < 0.85, rng.random(keys.size) < 0.85
    return log["client_received_start_timestamp"].to_numpy(np.int64), keys, enforced, counted


SAMPLE_SPECS = [  # tight enough to refuse some of the sample's orders, keyed or not
    QuotaSpec(4, 1, "minute", "default"),
    QuotaSpec(20, 1, "hour", "rollingwindow"),
    QuotaSpec(20, 1, "hour", "flexi"),
    QuotaSpec(250, 1, "day", "calendar", 1_794_787_215_233 + 5 * HOUR),
]


@pytest.mark.parametrize("keyed", [False, True], ids=["unkeyed", "keyed"])
@pytest.mark.parametrize("spec", SAMPLE_SPECS, ids=lambda s: s.type)
def test_on_the_sample_slices_of_a_proxy_replay_as_the_whole(sample_orders, spec, keyed) -> None:
    ts, keys, enforced, counted = sample_orders
    data = (ts, keys if keyed else None, enforced, counted)
    expected = whole(spec, data)
    assert expected.any() and not expected[enforced].all()
    for cuts in [[a for a, _ in shares.cuts(ts, 7)][1:], list(range(1000, ts.size, 1000)),
                 random_cuts(ts, 3)]:  # fmt: skip
        assert np.array_equal(fed(PairReplayer(spec, keyed), data, cuts), expected)
