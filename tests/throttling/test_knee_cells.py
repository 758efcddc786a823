"""The knee's cells are the same however the stream is cut: loads across piece edges."""

from __future__ import annotations

import numpy as np
import pytest

from copilot.analysis.outcomes import E5XX, GATEWAY
from copilot.throttling import knee_cells as knee_cells_module
from copilot.throttling.knee_cells import (
    LOG_STEP,
    WINDOW_MS,
    _Running,
    knee_cells,
    share_pieces,
    sums_dtype,
)
from copilot.throttling.shares import in_slices, slice_of
from tests.throttling.conftest import make_requests

RESAMPLES = 5


def _stream(seed: int, n: int):
    rng = np.random.default_rng(seed)
    gaps = rng.choice([0, 0, 1, 5, 40, 900, 20_000, 61_000], size=n)  # ties and long pauses
    ts = 1_700_000_000_000 + np.cumsum(gaps)
    target = np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(4, 1, n)).tolist()
    req = make_requests(ts.tolist(), target_ms=target)
    req.outcome[rng.random(n) < 0.05] = 2 * E5XX
    req.outcome[rng.random(n) < 0.1] = 2 * GATEWAY  # refused at the gateway: never counted
    return req


def _by_definition(req) -> dict[tuple[int, bool, int], tuple[float, list[float]]]:
    """(load, failed, raw bucket) -> requests and their minute weights summed, one at a time,
    over the requests that reached the backend."""
    reached = np.flatnonzero((req.outcome >> 1) != GATEWAY)
    ts = req.ts[reached]
    minutes = np.unique(ts // 60_000)
    rng = np.random.default_rng(0)
    draws = []
    for _ in range(RESAMPLES):  # each resample: its minutes' weights, then its bins' shift
        draws.append(rng.poisson(1.0, minutes.size))
        rng.uniform()
    out: dict = {}
    for i, row in enumerate(reached):
        load = int(((ts > ts[i] - WINDOW_MS) & (ts <= ts[i])).sum())
        lat = req.target_ms[row : row + 1]
        raw = -1_000_000
        if np.isfinite(lat[0]) and lat[0] > 0:
            raw = int(np.floor(np.log(np.maximum(lat, 1e-3)) / LOG_STEP)[0])
        bad = bool((req.outcome[row] >> 1) == E5XX or (req.outcome[row] & 1) == 1)
        m = int(np.searchsorted(minutes, ts[i] // 60_000))
        n, w = out.get((load, bad, raw), (0.0, [0.0] * RESAMPLES))
        out[(load, bad, raw)] = (n + 1, [a + float(d[m]) for a, d in zip(w, draws, strict=True)])
    return out


def _as_dict(cells) -> dict:
    raw = np.where(cells.bucket >= 0, cells.bucket + cells.lo_bucket, -1_000_000)
    return {
        (int(load), bool(bad), int(b)): (float(n), [float(x) for x in w])
        for load, bad, b, n, w in zip(
            cells.load, cells.bad, raw, cells.count, cells.resampled, strict=True
        )
    }


def _ragged(req, rows: int):
    """Pieces of exactly ``rows`` rows: cuts fall inside milliseconds and bursts."""
    return lambda: (slice_of(req, a, min(a + rows, req.size)) for a in range(0, req.size, rows))


def _slices(req, rows: int):
    return lambda: (part.req for part in in_slices(req, rows))


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("rows", [1, 7, 256, 1 << 20])
@pytest.mark.parametrize("cut", [_slices, _ragged], ids=["slices", "ragged"])
def test_cells_match_one_request_at_a_time_whatever_the_cut(seed: int, rows: int, cut) -> None:
    req = _stream(seed, 600)
    cells = knee_cells(cut(req, rows), RESAMPLES)
    assert _as_dict(cells) == _by_definition(req)
    reached = int(((req.outcome >> 1) != GATEWAY).sum())
    assert cells.count.sum() == reached == cells.per_minute.sum() < req.size
    keys = list(zip(cells.load, cells.bad, cells.bucket, strict=True))
    assert keys == sorted(keys)  # (load, failed, bucket): the order the verdicts read


@pytest.mark.parametrize("cut", [_slices, _ragged], ids=["slices", "ragged"])
def test_a_millisecond_cut_across_pieces_counts_as_one(cut) -> None:
    req = make_requests([1_000] * 50 + [2_000] * 50)
    cells = knee_cells(cut(req, 10), 0)
    assert cells.load.tolist() == [50, 100] and cells.count.tolist() == [50, 50]


def test_pieces_with_nothing_that_reached_the_backend_carry_the_minute() -> None:
    # a piece of gateway refusals only sits between two reaching requests 30 s apart
    req = make_requests([0, 10_000, 20_000, 30_000], outcome=[0, 2 * GATEWAY, 2 * GATEWAY, 0])
    cells = knee_cells(_ragged(req, 1), 0)
    assert cells.load.tolist() == [1, 2] and cells.count.tolist() == [1, 1]


def test_a_share_among_other_proxies_is_cut_without_the_others() -> None:
    ts = [0, 0, 5, 5, 5, 9, 12, 12]
    req = make_requests(ts, proxy=[0, 1, 0, 1, 0, 1, 0, 0], proxies=("a", "b"))
    pieces = list(share_pieces(req, 0, rows=2)())
    assert [p.ts.tolist() for p in pieces] == [[0, 5, 5], [12, 12]]
    assert all((p.proxy == 0).all() for p in pieces)
    alone = list(share_pieces(req.subset(req.rows_of_proxy(0)), 0, rows=2)())
    assert [p.ts.tolist() for p in alone] == [[0, 5, 5], [12, 12]]


def test_a_large_piece_sums_as_many_small_ones() -> None:
    # pieces above a few thousand rows sum minute weights through a sparse matrix, smaller
    # ones row by row: the cells are the same integers either way
    req = _stream(4, 12_000)
    whole = knee_cells(_slices(req, 1 << 20), RESAMPLES)
    assert whole.count.sum() > 10_000  # the premise: one piece past the row-by-row size
    assert _as_dict(whole) == _as_dict(knee_cells(_ragged(req, 3), RESAMPLES))


def _reference(parts) -> dict[int, tuple[int, list[int]]]:
    out: dict = {}
    for keys, count, summed in parts:
        for k, n, row in zip(keys.tolist(), count.tolist(), summed.tolist(), strict=True):
            m, w = out.get(k, (0, [0] * len(row)))
            out[k] = (m + n, [a + b for a, b in zip(w, row, strict=True)])
    return out


def _part(rng, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keys = np.unique(keys)
    count = rng.integers(1, 50, keys.size).astype(np.int32)
    return keys, count, rng.integers(0, 9, (keys.size, 3)).astype(np.int32)


def test_known_cells_fold_in_place_and_late_new_ones_join_in_key_order() -> None:
    rng = np.random.default_rng(5)
    evens = np.arange(0, 20_000, 2)
    # the load range is seen early (the even keys); new cells arrive late: a few now and
    # then, some in several parts before they join, and once a wave of them (odd keys)
    early = [_part(rng, evens)] + [_part(rng, rng.choice(evens, 3_000)) for _ in range(3)]
    late = [_part(rng, np.r_[rng.choice(evens, 2_000), 30_000 + i % 7, 90_000 - i])
            for i in range(40)]  # fmt: skip
    wave = _part(rng, np.r_[rng.choice(evens, 2_000), np.arange(1, 12_001, 2)])
    running = _Running(3, np.int32)
    for part in early:
        running.add(part)
    buffer = running.resampled.__array_interface__["data"][0]
    assert running.keys.size == evens.size and not running.waiting
    for part in late[:20]:
        running.add(part)
    # the known keys were added where they are; the new ones (two a part, 7 + 20 distinct)
    # wait
    assert running.keys.size == evens.size and running.held == 2 * 20
    assert running.resampled.__array_interface__["data"][0] == buffer
    running.add(wave)  # enough new keys to join at once, the waiting ones with them
    assert running.keys.size == evens.size + 6_000 + 7 + 20 and not running.waiting
    for part in late[20:]:
        running.add(part)
    keys, count, summed = running.fold()
    assert keys.tolist() == sorted(keys.tolist()) and keys.size == evens.size + 6_000 + 47
    assert count.dtype == summed.dtype == np.int32
    want = _reference([*early, *late, wave])
    assert {k: (n, w) for k, n, w in zip(keys.tolist(), count.tolist(), summed.tolist(),
                                          strict=True)} == want  # fmt: skip


@pytest.mark.parametrize(
    ("requests", "heaviest", "dtype"),
    [(1_000, 9, np.int32), ((2**31 - 1) // 9, 9, np.int32), ((2**31 - 1) // 9 + 1, 9, np.int64),
     (2**31, 1, np.int64), (11_000_000, 12, np.int32)],
)  # fmt: skip
def test_cells_are_summed_in_int32_only_when_no_cell_can_overflow_it(
    requests: int, heaviest: int, dtype
) -> None:
    assert sums_dtype(requests, heaviest) is dtype


def test_a_share_s_cells_are_int32_and_sum_as_floats_did() -> None:
    req = _stream(6, 3_000)
    cells = knee_cells(_slices(req, 256), RESAMPLES)
    assert cells.count.dtype == cells.resampled.dtype == np.int32
    assert _as_dict(cells) == _by_definition(req)


@pytest.mark.parametrize("rows", [7, 5_000])  # summed row by row, and by a sparse product
def test_a_share_too_large_for_int32_sums_in_int64_alike(monkeypatch, rows: int) -> None:
    monkeypatch.setattr(knee_cells_module, "sums_dtype", lambda requests, heaviest: np.int64)
    req = _stream(7, 6_000)
    cells = knee_cells(_slices(req, rows), RESAMPLES)
    assert cells.count.dtype == cells.resampled.dtype == np.int64
    assert _as_dict(cells) == _by_definition(req)
