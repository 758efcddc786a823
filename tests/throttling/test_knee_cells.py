"""The knee's cells are the same however the stream is sliced: loads across slice edges."""

from __future__ import annotations

import numpy as np
import pytest

from copilot.analysis.outcomes import E5XX
from copilot.throttling.knee_cells import LOG_STEP, WINDOW_MS, knee_cells
from tests.throttling.conftest import make_requests

RESAMPLES = 5


def _stream(seed: int, n: int):
    rng = np.random.default_rng(seed)
    gaps = rng.choice([0, 0, 1, 5, 40, 900, 20_000, 61_000], size=n)  # ties and long pauses
    ts = 1_700_000_000_000 + np.cumsum(gaps)
    target = np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(4, 1, n)).tolist()
    req = make_requests(ts.tolist(), target_ms=target)
    req.outcome[rng.random(n) < 0.05] = 2 * E5XX
    return req


def _by_definition(req) -> dict[tuple[int, bool, int], tuple[float, list[float]]]:
    """(load, failed, raw bucket) -> requests and their minute weights summed, one at a time."""
    ts = req.ts
    minutes = np.unique(ts // 60_000)
    rng = np.random.default_rng(0)
    draws = []
    for _ in range(RESAMPLES):  # each resample: its minutes' weights, then its bins' shift
        draws.append(rng.poisson(1.0, minutes.size))
        rng.uniform()
    out: dict = {}
    for i in range(req.size):
        load = int(((ts > ts[i] - WINDOW_MS) & (ts <= ts[i])).sum())
        lat = req.target_ms[i : i + 1]
        raw = -1_000_000
        if np.isfinite(lat[0]) and lat[0] > 0:
            raw = int(np.floor(np.log(np.maximum(lat, 1e-3)) / LOG_STEP)[0])
        bad = bool((req.outcome[i] >> 1) == E5XX or (req.outcome[i] & 1) == 1)
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


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("slice_rows", [1, 7, 256, 1 << 20])
def test_cells_match_one_request_at_a_time_whatever_the_slice(seed: int, slice_rows: int) -> None:
    req = _stream(seed, 600)
    cells = knee_cells(req, np.arange(req.size), RESAMPLES, slice_rows=slice_rows)
    assert _as_dict(cells) == _by_definition(req)
    assert cells.count.sum() == req.size == cells.per_minute.sum()
    keys = list(zip(cells.load, cells.bad, cells.bucket, strict=True))
    assert keys == sorted(keys)  # (load, failed, bucket): the order the verdicts read


def test_a_slice_never_splits_requests_of_one_millisecond() -> None:
    req = make_requests([1_000] * 50 + [2_000] * 50)
    cells = knee_cells(req, np.arange(req.size), 0, slice_rows=10)
    assert cells.load.tolist() == [50, 100] and cells.count.tolist() == [50, 50]
