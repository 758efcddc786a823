"""A spilled estate loads, proxy by proxy, exactly what the in-memory requests hold, and reads
it in time slices, a block at a time, that concatenate to that share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from copilot import spill as spill_files
from copilot.analysis import Analyzer
from copilot.commands._output import to_json
from copilot.logs.quarantine import Quarantine
from copilot.logs.reader import iter_chunks
from copilot.logs.sample import iter_chunks as sample_chunks
from copilot.logs.sample import make_scenario
from copilot.logs.writers import write_records
from copilot.pipeline import read_pass, with_columns
from copilot.spill import SpillDir
from copilot.throttling import spilled_sort
from copilot.throttling.bundle import read_estate
from copilot.throttling.collect import ATTRS, EXTRA_COLUMNS, HASHED, Collector, hash_values
from copilot.throttling.requests import Requests
from copilot.throttling.run import build_report, collected_attrs
from copilot.throttling.shares import cuts
from copilot.throttling.spilled import InMemory, ProxySpill, Source, SpilledRequests
from tests.paths import SAMPLE_LOG
from tests.throttling.conftest import BUNDLES, chunk_frame

ARRAYS = ("ts", "proxy", "party", "outcome", "policy", "target_ms", "status")


def _same(got: Requests, want: Requests) -> None:
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    for name in ("proxies", "parties", "policies", "fault_codes"):
        assert getattr(got, name) == getattr(want, name), name
    assert list(got.attrs) == list(want.attrs)
    for name, (ids, labels) in want.attrs.items():
        np.testing.assert_array_equal(got.attrs[name][0], ids, err_msg=name)
        assert got.attrs[name][1] == labels, name
    assert got.status_logged() == want.status_logged()


def _collect(chunks, spill: SpillDir | None, attrs: tuple[str, ...] = ATTRS) -> Collector:
    collector = Collector(attrs, spill=spill)
    for chunk in chunks:
        collector.add(chunk)
    return collector


def _frame(rows: list[tuple]) -> pd.DataFrame:
    return chunk_frame(rows, attrs=True)


def test_each_proxy_of_the_sample_loads_as_its_share_of_the_whole(tmp_path: Path) -> None:
    memory, spilled = Collector(ATTRS), Collector(ATTRS, spill=SpillDir())
    extra = [c for c in EXTRA_COLUMNS if c in ATTRS]
    read_pass([SAMPLE_LOG], consumers=[memory, spilled], extra_columns=extra)
    whole = InMemory(memory.finish())
    source = spilled.finish_source()
    assert source.proxies == whole.proxies and source.size == whole.size > 0
    np.testing.assert_array_equal(source.counts, whole.counts)
    assert source.span == whole.span
    for p in range(len(source.proxies)):
        _same(source.load(p), whole.load(p))
        _same(source.load(p), whole.load(p))  # again, from the sorted files


@pytest.mark.parametrize("order", ["as written", "reversed", "interleaved"])
def test_chunks_out_of_time_order_load_sorted_with_ties_in_arrival_order(order: str) -> None:
    rows = [
        (1_000, "b", "app1", "k1", "", "/x"), (1_000, "a", "app2", "k2", "SA", "/y"),
        (3_000, "a", "app1", "k1", "", "/z"), (2_000, "a", "app1", "k1", "", "/x"),
        (1_000, "a", "app1", "k1", "", "/w"), (5_000, "b", "(not set)", "(not set)", "", "/x"),
    ]  # fmt: skip
    chunks = [_frame(rows[i : i + 2]) for i in range(0, len(rows), 2)]
    chunks = {"as written": chunks, "reversed": chunks[::-1],
              "interleaved": [chunks[1], chunks[0], chunks[2]]}[order]  # fmt: skip
    whole = InMemory(_collect(chunks, None).finish())
    source = _collect(chunks, SpillDir()).finish_source()
    for p in range(len(whole.proxies)):
        _same(source.load(p), whole.load(p))
    a = source.load(source.proxies.index("a"))
    assert a.ts.tolist() == sorted(a.ts.tolist())


def test_a_spilling_collector_leaves_nothing_behind_when_closed() -> None:
    spill = SpillDir()
    collector = _collect([_frame([(1_000, "a", "app1", "k1", "", "/x")])], spill)
    collector.finish_source().load(0)
    assert any(spill.path.iterdir())
    with pytest.raises(ValueError, match="finish_source"):
        collector.finish()
    spill.close()
    assert not spill.path.exists()


def test_the_advice_from_spilled_shares_is_the_advice_from_memory() -> None:
    estate = read_estate([BUNDLES])
    attrs = collected_attrs(estate)
    memory, spilled = Collector(attrs), Collector(attrs, spill=SpillDir())
    extra = [c for c in EXTRA_COLUMNS if c in attrs]
    run = read_pass([SAMPLE_LOG], consumers=[memory, spilled], extra_columns=extra)
    reports = [
        build_report(run.analysis, req, estate=estate)
        for req in (memory.finish(), spilled.finish_source())
    ]
    first, second = (to_json(r.to_dict()) for r in reports)
    assert first == second and reports[0].current_replays and reports[0].suggestions


def test_a_chunk_whose_every_time_is_unusable_adds_nothing() -> None:
    before_1970 = _frame([(-5_000, "a", "app1", "k1", "", "/x")])
    kept = _frame([(1_000, "a", "app1", "k1", "", "/y")])
    source = _collect([before_1970, kept], SpillDir()).finish_source()
    whole = InMemory(_collect([before_1970, kept], None).finish())
    assert source.size == whole.size == 1
    _same(source.load(0), whole.load(0))


@pytest.mark.parametrize("spilled", [False, True], ids=["in memory", "spilled"])
def test_no_requests_give_a_report_that_says_so(spilled: bool) -> None:
    collector = Collector((), spill=SpillDir() if spilled else None)
    report = build_report(Analyzer().finish(), collector.finish_source())
    assert report.records == 0 and report.suggestions == []
    assert report.notes == ["no requests: nothing to suggest"]
    assert to_json(report.to_dict())


@pytest.mark.parametrize("spilled", [False, True], ids=["in memory", "spilled"])
def test_a_lean_share_keeps_what_the_advice_reads_and_refuses_writes_to_the_rest(
    spilled: bool,
) -> None:
    memory, spilling = Collector(ATTRS), Collector(ATTRS, spill=SpillDir())
    read_pass([SAMPLE_LOG], consumers=[memory, spilling], extra_columns=list(EXTRA_COLUMNS))
    source = spilling.finish_source() if spilled else InMemory(memory.finish())
    whole = InMemory(memory.finish())
    for p in range(len(whole.proxies)):
        lean, full = source.load(p, lean=True), whole.load(p)
        for name in ("ts", "proxy", "party", "outcome", "policy"):
            np.testing.assert_array_equal(getattr(lean, name), getattr(full, name), name)
        assert lean.attrs == {} and np.isnan(lean.target_ms).all() and not lean.status.any()
        assert lean.status_logged() == full.status_logged()
        with pytest.raises(ValueError, match="read-only"):
            lean.target_ms[0] = 1.0


# --- time slices (shares.py semantics), sorting by merging runs a block at a time ---

HUGE = 10**9
COLUMN_NAMES = ("ts", "party", "outcome", "policy", "target_ms", "status")


def _same_slices(source: Source, whole: InMemory, proxy: int, rows: int, lean: bool = False):
    """``source``'s slices of the proxy are ``whole``'s (same cuts, same arrays) and
    concatenate to ``source``'s own whole share."""
    got = list(source.slices(proxy, rows, lean))
    want = list(whole.slices(proxy, rows, lean))
    share = source.load(proxy, lean)
    assert [(s.start, s.stop) for s in got] == [(s.start, s.stop) for s in want]
    assert [(s.start, s.stop) for s in got] == cuts(share.ts, rows)
    for g, w in zip(got, want, strict=True):
        _same(g.req, w.req)
    for name in (*ARRAYS, "proxy"):
        joined = np.concatenate([getattr(s.req, name) for s in got]) if got else None
        if joined is not None:
            np.testing.assert_array_equal(joined, getattr(share, name), err_msg=name)
    for name, (ids, _labels) in share.attrs.items():
        np.testing.assert_array_equal(np.concatenate([s.req.attrs[name][0] for s in got]), ids)
    return got


def _both(chunks: list[pd.DataFrame]) -> tuple[InMemory, SpilledRequests]:
    return InMemory(_collect(chunks, None).finish()), _collect(chunks, SpillDir()).finish_source()


@pytest.fixture(scope="module")
def sample_sources() -> tuple[InMemory, SpilledRequests]:
    memory, spilled = Collector(ATTRS), Collector(ATTRS, spill=SpillDir())
    read_pass([SAMPLE_LOG], consumers=[memory, spilled], extra_columns=list(EXTRA_COLUMNS))
    return InMemory(memory.finish()), spilled.finish_source()


@pytest.mark.parametrize("rows", [300, 1000, HUGE])
@pytest.mark.parametrize("lean", [False, True], ids=["full", "lean"])
def test_the_samples_shares_read_in_slices_are_its_whole_shares_cut(
    sample_sources, rows: int, lean: bool
) -> None:
    whole, source = sample_sources
    for p in range(len(source.proxies)):
        got = _same_slices(source, whole, p, rows, lean)
        assert len(got) > 1 or rows == HUGE


@pytest.mark.parametrize("rows", [1, 7])
def test_small_slices_of_the_samples_smallest_share_never_split_a_millisecond(
    sample_sources, rows: int
) -> None:
    whole, source = sample_sources
    p = int(np.argmin(source.counts))
    got = _same_slices(source, whole, p, rows)
    firsts, lasts = [s.req.ts[0] for s in got[1:]], [s.req.ts[-1] for s in got[:-1]]
    assert len(got) > 100 and all(a < b for a, b in zip(lasts, firsts, strict=True))


def _random_frames(rng: np.random.Generator, n: int, distinct_ms: int) -> list[pd.DataFrame]:
    """``n`` requests to three proxies over ``distinct_ms`` milliseconds (many per millisecond),
    tagged by path with their arrival index, in chunks of random sizes, some in time order."""
    ts = 1_700_000_000_000 + rng.integers(0, distinct_ms, n) * 250
    proxy = rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])
    app = rng.choice(["app1", "app2", "app3", "(not set)"], n)
    policy = rng.choice(["", "", "", "SA"], n)
    rows = [(int(t), str(p), str(a), f"k{a}", str(f), f"/r{i}")
            for i, (t, p, a, f) in enumerate(zip(ts, proxy, app, policy, strict=True))]  # fmt: skip
    edges = np.unique(np.r_[0, rng.integers(1, n, max(n // 150, 1)), n])
    chunks = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        part = rows[a:b]
        chunks.append(_frame(sorted(part) if rng.random() < 0.3 else part))
    return chunks


def _arrival(req: Requests) -> np.ndarray:
    ids, labels = req.attrs["path"]
    return np.array([int(labels[i][2:]) for i in ids])


ORDERS = {
    "as written": lambda chunks, rng: chunks,
    "reversed": lambda chunks, rng: chunks[::-1],
    "interleaved": lambda chunks, rng: [chunks[i] for i in rng.permutation(len(chunks))],
}


@pytest.mark.parametrize("order", list(ORDERS))
@pytest.mark.parametrize("distinct_ms", [40, 2_000], ids=["bursts", "sparse"])
def test_random_streams_with_ties_sort_stably_and_slice_like_the_whole_share(
    order: str, distinct_ms: int
) -> None:
    rng = np.random.default_rng(distinct_ms)
    chunks = ORDERS[order](_random_frames(rng, 3_000, distinct_ms), rng)
    whole, source = _both(chunks)
    arrival = pd.concat(chunks, ignore_index=True)
    index = arrival["path"].str[2:].astype(int).to_numpy()
    ms = arrival["ts"].dt.as_unit("ms").astype("int64").to_numpy()
    for p, name in enumerate(source.proxies):
        share = source.load(p)
        _same(share, whole.load(p))
        mine = (arrival["proxy"] == name).to_numpy()
        # time order, ties in arrival order (chunk order, then row order): a stable sort
        want = index[mine][np.argsort(ms[mine], kind="stable")]
        np.testing.assert_array_equal(_arrival(share), want)
        for rows in (1, 7, 1000, HUGE):
            _same_slices(source, whole, p, rows)
        _same_slices(source, whole, p, 7, lean=True)


HASHED_ATTRS = tuple(a + HASHED if a == "path" else a for a in ATTRS)


@pytest.mark.parametrize("order", list(ORDERS))
def test_hashed_paths_spill_sort_and_slice_as_int64_without_labels(order: str) -> None:
    rng = np.random.default_rng(11)
    chunks = ORDERS[order](_random_frames(rng, 2_000, 40), rng)
    whole = InMemory(_collect(chunks, None, HASHED_ATTRS).finish())
    source = _collect(chunks, SpillDir(), HASHED_ATTRS).finish_source()
    assert source.attr_labels["path"] == [] and source.attr_labels["verb"] == ["GET"]
    arrival = pd.concat(chunks, ignore_index=True)
    index = arrival["path"].str[2:].astype(int).to_numpy()
    of_hash = dict(zip(hash_values(arrival["path"]).tolist(), index.tolist(), strict=True))
    ms = arrival["ts"].dt.as_unit("ms").astype("int64").to_numpy()
    for p, name in enumerate(source.proxies):
        share = source.load(p)
        _same(share, whole.load(p))  # the hashes, as the in-memory collector keeps them
        hashes, labels = share.attrs["path"]
        assert hashes.dtype == np.int64 and labels == []
        mine = (arrival["proxy"] == name).to_numpy()
        want = index[mine][np.argsort(ms[mine], kind="stable")]
        assert [of_hash[h] for h in hashes.tolist()] == want.tolist()  # each row's own path
        for rows in (1, 7, HUGE):
            _same_slices(source, whole, p, rows)


def test_chunks_in_time_order_leave_one_run_per_proxy_and_others_merge_by_time_then_arrival():
    writer = ProxySpill(SpillDir(), ())
    n = 0
    for ms, proxy in (([1, 2, 3], [0, 1, 0]), ([3, 4], [0, 0]), ([2, 5], [0, 1]), ([9, 8], [1, 1])):
        k = len(ms)
        writer.add((
            np.array(ms, np.int64), np.array(proxy, np.int16), np.zeros(k, np.int32),
            np.zeros(k, np.int8), np.zeros(k, np.int16),
            np.arange(n, n + k, dtype=np.float32), np.zeros(k, np.int16),
        ))  # fmt: skip
        n += k
    # a: [1 3] then [3 4] continues it, [2] starts a run; b: [2] [5] [8 9] all continue
    assert writer.runs == {0: [4, 1], 1: [4]}
    source = SpilledRequests.of(writer, {"proxy": ["a", "b"], "policy": [""]}, [("app", "k")], {})
    a, b = source.load(0), source.load(1)
    assert a.ts.tolist() == [1, 2, 3, 3, 4] and a.target_ms.tolist() == [0, 5, 2, 3, 4]
    assert b.ts.tolist() == [2, 5, 8, 9] and b.target_ms.tolist() == [1, 6, 8, 7]


@pytest.fixture(scope="module")
def generated_frames(tmp_path_factory: pytest.TempPathFactory) -> list[pd.DataFrame]:
    path = tmp_path_factory.mktemp("spilled") / "two-days.csv"
    write_records(sample_chunks(make_scenario(days=2, seed=3, rows=20_000)), path)
    frames = list(iter_chunks([path], Quarantine(), with_columns(None, EXTRA_COLUMNS)))
    rows = pd.concat(frames, ignore_index=True)
    labels = [c for c in rows.columns if rows[c].dtype == object]
    return [
        rows.iloc[a : a + 1_500].reset_index(drop=True).astype({c: "category" for c in labels})
        for a in range(0, len(rows), 1_500)
    ]


@pytest.mark.parametrize("order", list(ORDERS))
def test_a_generated_estate_in_any_chunk_order_slices_like_its_whole_shares(
    generated_frames, order: str
) -> None:
    rng = np.random.default_rng(5)
    whole, source = _both(ORDERS[order](generated_frames, rng))
    assert source.size == whole.size > 15_000
    for p in range(len(source.proxies)):
        _same(source.load(p), whole.load(p))
        for rows in (97, 1000, HUGE):
            _same_slices(source, whole, p, rows)


@pytest.mark.parametrize("spilled", [False, True], ids=["in memory", "spilled"])
def test_derived_columns_come_back_with_each_slice_in_the_first_values_dtype(
    spilled: bool,
) -> None:
    rng = np.random.default_rng(1)
    whole, source = _both(_random_frames(rng, 2_000, 300))
    source = source if spilled else whole
    p = source.proxies.index("a")
    for s in source.slices(p, 7):
        source.append_derived(p, "retry", s.req.ts % 3 == 0)
        source.append_derived(p, "party", s.req.party.astype(np.int64))
    got = list(source.slices(p, 61, derived=("retry", "party")))
    assert sum(s.req.size for s in got) == source.counts[p] > 61
    for s in got:
        assert s.derived["retry"].dtype == bool
        np.testing.assert_array_equal(s.derived["retry"], s.req.ts % 3 == 0)
        np.testing.assert_array_equal(s.derived["party"], s.req.party)
    with pytest.raises(KeyError):
        next(source.slices(p, 7, derived=("never written",)))


def test_derived_values_keep_the_dtype_of_the_first_appended_on_disk() -> None:
    _, source = _both(_random_frames(np.random.default_rng(2), 500, 100))
    source.append_derived(0, "n", np.array([1, 2], np.int8))
    source.append_derived(0, "n", np.array([300, 4] + [0] * (int(source.counts[0]) - 4)))
    (first, *_rest) = source.slices(0, HUGE, derived=("n",))
    assert first.derived["n"].dtype == np.int8 and first.derived["n"][:4].tolist() == [1, 2, 44, 4]


def test_sorting_and_slicing_a_share_read_the_disk_a_block_at_a_time(monkeypatch) -> None:
    rng = np.random.default_rng(3)
    ts = np.repeat(np.arange(200) * 7, 2)  # at most two requests a millisecond
    rows = [(1_000 + int(t), "a", "app1", "k1", "", f"/r{i}") for i, t in enumerate(ts)]
    chunks = [_frame(rows[i : i + 100]) for i in range(0, len(rows), 100)]
    chunks = [chunks[i] for i in rng.permutation(len(chunks))]  # four overlapping runs
    whole, source = _both(chunks)
    reads: list[int] = []
    real = spill_files.read

    def counted(*args, **kwargs) -> np.ndarray:
        out = real(*args, **kwargs)
        reads.append(out.size)
        return out

    monkeypatch.setattr(spilled_sort, "BLOCK", 8)
    monkeypatch.setattr(spill_files, "read", counted)
    got = list(source.slices(0, 3))  # the first read sorts: four runs, two rows of each
    monkeypatch.setattr(spill_files, "read", real)
    assert source.counts[0] == 400 and [s.req.size for s in got] == [4] * 100  # 3, then the tie
    assert reads and max(reads) <= 8
    for g, w in zip(got, whole.slices(0, 3), strict=True):
        _same(g.req, w.req)
    _same(source.load(0), whole.load(0))
