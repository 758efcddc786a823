"""A replay stream on disk, read in pieces, sizes exactly as the same stream in memory.

Streams are built the way ``Traffic.stream`` builds them (retries collapsed, abusive
clients and excluded windows flagged), from the bundled sample and a generated estate,
and random streams with many requests in one millisecond; each is written to a
``StreamWriter`` and read back in pieces of 1, 7, 300 rows and a whole slice. Every
statistic, search and replay must give what ``sizing`` gives on the in-memory stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from copilot.logs.sample import iter_chunks, make_scenario
from copilot.logs.writers import write_records
from copilot.pipeline import read_pass
from copilot.spill import SpillDir
from copilot.throttling import context, sizing, sliced, sliced_stats
from copilot.throttling.collect import EXTRA_COLUMNS, Collector, Requests
from copilot.throttling.evidence import gather
from copilot.throttling.options import DEFAULT_HEADROOM
from copilot.throttling.replay import SpikeArrestSpec
from copilot.throttling.replay_quota import QuotaSpec
from copilot.throttling.run import collected_attrs
from copilot.throttling.shares import SLICE_ROWS
from copilot.throttling.sizing import Stream
from copilot.throttling.sliced import SlicedStream, StreamWriter
from copilot.throttling.tally import tally
from copilot.timeunits import DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS
from tests.paths import SAMPLE_LOG
from tests.throttling.conftest import make_requests

# Piece sizes, and the largest stream each is tried on (one-row pieces are slow to replay).
PIECES = {1: 600, 7: 2_500, 300: None, SLICE_ROWS: None}
WINDOWS = (SECOND_MS, MINUTE_MS, HOUR_MS, DAY_MS)


def contexts(paths: list[Path]) -> list[context.Context]:
    """Each active proxy's context, as ``atc suggest`` builds them (no bundles)."""
    attrs = collected_attrs()
    collector = Collector(attrs)
    run = read_pass(
        paths, consumers=[collector], extra_columns=[c for c in EXTRA_COLUMNS if c in attrs]
    )
    ev = gather(run.analysis, collector.finish_source(), DEFAULT_HEADROOM, [], None)
    return [ev.context(p) for p in ev.active]


@pytest.fixture(scope="module")
def estates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[context.Context]]:
    path = tmp_path_factory.mktemp("sliced") / "estate.csv"
    write_records(iter_chunks(make_scenario(days=3, seed=7, rows=30_000)), path)
    return {"sample": contexts([SAMPLE_LOG]), "generated": contexts([path])}


def streams(ctx: context.Context) -> Iterator[tuple[str, Stream]]:
    """Every stream the advice replays on a proxy: the proxy's, keyed by party or not, and
    each app's; plus the first 500 requests of the proxy's (a cut inside its traffic)."""
    for p in ctx.active_proxies():
        whole = ctx.proxy_stream(p)
        yield f"{ctx.req.proxies[p]}", whole
        yield f"{ctx.req.proxies[p]} keyed", ctx.proxy_stream(p, keys=True)
        yield f"{ctx.req.proxies[p]} first 500", whole.subset(np.arange(whole.size) < 500)
        for party in ctx.parties_on(p):
            yield f"{ctx.req.proxies[p]} {ctx.req.parties[party]}", ctx.pair_stream(p, party)


def written(req: Requests, stream: Stream, directory: SpillDir, rows: int) -> SlicedStream:
    """The same rows through a StreamWriter, appended in uneven chunks."""
    writer = StreamWriter(directory, f"s{id(stream)}-{rows}", piece_rows=rows)
    ts, party = stream.times(req), req.party[stream.rows]
    bounds = [0, *range(1, stream.size, 997), stream.size]
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        writer.append(ts[a:b], party[a:b], stream.legit[a:b], stream.healthy[a:b])
    out = writer.finish()
    return out.with_keys() if stream.keys is not None else out


def specs(req: Requests, stream: Stream) -> list[SpikeArrestSpec | QuotaSpec]:
    """Limits that reject some of the stream: SpikeArrests of every mode, and Quotas of every
    type at about half the busiest hour's (or day's) counted requests."""
    hour = max(1, sizing.peak_of(req, stream, HOUR_MS, "counted") // 2)
    day = max(1, sizing.peak_of(req, stream, DAY_MS, "counted") // 2)
    start = int(stream.times(req)[0]) // DAY_MS * DAY_MS + 7 * MINUTE_MS if stream.size else 0
    return [
        SpikeArrestSpec("3pm"),
        SpikeArrestSpec("3pm", True),
        SpikeArrestSpec("20pm"),
        SpikeArrestSpec("2ps", True),
        SpikeArrestSpec("10ps"),
        QuotaSpec(hour, 1, "hour", "calendar", start),
        QuotaSpec(hour, 1, "hour", "rollingwindow"),
        QuotaSpec(hour, 1, "hour", "flexi"),
        QuotaSpec(day, 1, "day", "default"),
    ]


def answers(req: Requests, stream: Stream | SlicedStream, limits: list) -> dict:
    """Everything sizing reads off a stream, of either kind (``limits``: replayed)."""
    out: dict = {
        "size": (stream.size, stream.counted_total),
        "rate_stats": context.rate_stats(req, stream),
        "daily_peaks": context.daily_peaks(req, stream).tolist(),
    }
    for unit in WINDOWS:
        keys, counts = sizing.counted_tally(req, stream, unit)
        out[f"tally {unit}"] = (keys.dtype, keys.tolist(), counts.dtype, counts.tolist())
        for which in ("legit", "counted"):
            out[f"peak {unit} {which}"] = sizing.peak_of(req, stream, unit, which)
    for unit in ("pm", "ps"):
        for effective in (False, True):
            out[f"least {unit} {effective}"] = sizing.least_rate(req, stream, unit, effective)
    for spec in limits:
        hit = sizing.replay_impact(req, stream, spec)
        series = hit.per_minute
        out[f"{spec}"] = (
            sizing.within(req, stream, spec),
            hit.to_dict(),
            (series.dtype, series.index.tolist(), series.tolist()),
        )
    return out


def assert_same(
    req: Requests, stream: Stream, disks: dict[int, SlicedStream], what: str, legit: tuple = ()
) -> None:
    """Every sizing step on each of ``disks`` (by piece rows) gives what it gives on
    ``stream``; on their legitimate rows alone too for the piece rows in ``legit``."""
    for legit_only in (False, True):
        chosen = {r: d for r, d in disks.items() if not legit_only or r in legit}
        if not chosen:
            continue
        memory = stream.legit_only() if legit_only else stream
        limits = specs(req, memory)
        want = answers(req, memory, limits)
        for rows, disk in chosen.items():
            got = answers(req, disk.legit_only() if legit_only else disk, limits)
            assert got == want, (what, rows, legit_only)


@pytest.mark.parametrize("estate", ["sample", "generated"])
def test_a_stream_on_disk_sizes_as_the_same_stream_in_memory(estates, estate: str) -> None:
    tried = dict.fromkeys(PIECES, 0)
    with SpillDir() as directory:
        for ctx in estates[estate]:
            for what, stream in streams(ctx):
                disks = {
                    rows: written(ctx.req, stream, directory, rows)
                    for rows, largest in PIECES.items()
                    if largest is None or stream.size <= largest
                }
                # legit_only on cuts inside bursts (least_rate's first stage reads it on all)
                assert_same(ctx.req, stream, disks, what, legit=(7, 300))
                for rows in disks:
                    tried[rows] += 1
    assert min(tried.values()) >= 5, tried  # the size cut-offs leave streams to compare


def tied_stream(seed: int, n: int) -> tuple[Requests, Stream]:
    """A random stream of bursts: many requests in one millisecond, runs of busy seconds and
    quiet hours, five parties, some abusive, some in excluded windows."""
    rng = np.random.default_rng(seed)
    bursts = np.sort(rng.integers(0, 3 * DAY_MS, n // 10))
    at = np.repeat(bursts, rng.integers(1, 40, bursts.size))[:n]  # about twice n: cut to n
    ts = np.sort(at + rng.integers(0, 3, at.size))
    party = rng.integers(0, 5, ts.size)
    req = make_requests(
        ts, party=list(party), parties=tuple((f"app-{i}", f"key-{i}") for i in range(5))
    )
    legit = party != 3
    healthy = ~((ts % DAY_MS) < 2 * HOUR_MS)  # an excluded window each night
    return req, Stream(np.arange(ts.size), legit, healthy)


@pytest.mark.parametrize(("rows", "read"), [(1, 1 << 16), (7, 40), (300, 301)])
@pytest.mark.parametrize("seed", [1, 2])
def test_random_bursts_cut_anywhere_size_the_same(
    monkeypatch: pytest.MonkeyPatch, rows: int, read: int, seed: int
) -> None:
    monkeypatch.setattr(sliced, "READ_ROWS", read)  # blocks read from disk end mid-burst too
    req, stream = tied_stream(seed, 3_000)
    assert (np.diff(stream.times(req)) == 0).sum() > stream.size // 4  # ties galore
    with SpillDir() as directory:
        for s in (stream, Stream(stream.rows, stream.legit, stream.healthy, req.party.copy())):
            disks = {rows: written(req, s, directory, rows)}
            assert_same(req, s, disks, f"seed {seed}", legit=(rows,))


@pytest.mark.parametrize("read", [1, 5, 1 << 16])
@pytest.mark.parametrize("rows", [1, 7, 300, 10_000])
def test_pieces_hold_every_row_in_order_and_never_split_a_millisecond(
    monkeypatch: pytest.MonkeyPatch, rows: int, read: int
) -> None:
    monkeypatch.setattr(sliced, "READ_ROWS", read)
    req, stream = tied_stream(3, 3_000)
    with SpillDir() as directory:
        disk = written(req, stream, directory, rows)
        pieces = list(disk.pieces())
        legit = list(disk.legit_only().pieces())
    whole = sliced.Piece(*(np.concatenate(c) for c in zip(*pieces, strict=True)))
    assert np.array_equal(whole.ts, stream.times(req))
    assert np.array_equal(whole.party, req.party)
    assert np.array_equal(whole.legit, stream.legit) and np.array_equal(
        whole.healthy, stream.healthy
    )
    for a, b in zip(pieces[:-1], pieces[1:], strict=True):
        assert a.ts[-1] < b.ts[0]  # a millisecond is never split
    # About ``rows`` each: a piece only grows past ``rows`` to finish its last millisecond.
    peak_ms = int(np.unique(stream.times(req), return_counts=True)[1].max())
    assert all(p.size <= rows + peak_ms for p in pieces)
    assert len(pieces) > 1 if rows < stream.size else len(pieces) == 1
    kept = np.concatenate([p.ts for p in legit])
    assert np.array_equal(kept, stream.times(req)[stream.legit])
    assert all(p.legit.all() for p in legit)


def test_an_empty_stream_sizes_as_an_empty_stream_in_memory() -> None:
    req = make_requests([])
    stream = Stream(np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, bool))
    with SpillDir() as directory:
        disk = StreamWriter(directory, "empty").finish()
        assert list(disk.pieces()) == []
        assert sliced_stats.rate_stats(disk, req.parties) == context.rate_stats(req, stream)
        assert sizing.least_rate(req, disk, "pm", True) == 1
        assert sizing.peak_of(req, disk, MINUTE_MS, "counted") == 0
        got = sizing.replay_impact(req, disk, SpikeArrestSpec("1pm"))
        assert got.to_dict() == sizing.replay_impact(req, stream, SpikeArrestSpec("1pm")).to_dict()


def test_a_stream_is_written_in_time_order() -> None:
    with SpillDir() as directory:
        writer = StreamWriter(directory, "late")
        writer.append(
            np.array([5, 9]), np.array([0, 0]), np.array([True, True]), np.array([True, True])
        )
        with pytest.raises(ValueError, match="time order"):
            writer.append(np.array([8]), np.array([0]), np.array([True]), np.array([True]))
        with pytest.raises(ValueError, match="one length"):
            writer.append(np.array([10, 11]), np.array([0]), np.array([True]), np.array([True]))


@pytest.mark.parametrize("rows", [1, 7, 300])
def test_the_busiest_window_counts_requests_carried_from_earlier_pieces(rows: int) -> None:
    """Dense times, windows of 1 ms to 2 s: a window ends exactly at an earlier piece's
    requests (``(t - window, t]`` holds t, not t - window)."""
    rng = np.random.default_rng(rows)
    ts = np.sort(rng.integers(0, 5_000, 2_000))
    req = make_requests(ts)
    legit, healthy = rng.random(ts.size) < 0.8, rng.random(ts.size) < 0.9
    stream = Stream(np.arange(ts.size), legit, healthy)
    with SpillDir() as directory:
        disk = written(req, stream, directory, rows)
        for window in (1, 2, 3, 10, 99, 100, 101, 1_000, 2_000):
            for which in ("legit", "counted"):
                want = sizing.peak_window(
                    ts[legit if which == "legit" else legit & healthy], window
                )
                assert sizing.peak_of(req, disk, window, which) == want, (window, which)


@pytest.mark.parametrize("seed", range(5))
def test_the_spread_of_counts_is_the_sorted_tally_however_the_values_are_cut(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = np.sort(rng.integers(0, 300, 2_000))  # about 7 of each value: runs cut anywhere
    cuts = np.sort(rng.choice(np.arange(1, values.size), 40, replace=False))
    spread, tallies = sliced_stats.CountSpread(), sliced_stats.Tallies()
    for part in np.split(values, cuts):
        spread.add(part)
        tallies.add(part)
    keys, counts = tally(values)
    got_keys, got_counts = tallies.result()
    assert np.array_equal(got_keys, keys) and np.array_equal(got_counts, counts)
    assert np.array_equal(spread.counts(), np.sort(counts))
