"""The knee's evidence, reduced as it is read: requests counted per (load met, failed, latency).

:func:`copilot.throttling.knee.find_knee` bins every request that reached the
backend by the load it met: the requests in the minute up to it, itself and
its same-millisecond peers included (:func:`trailing_load`). Its bootstrap
weighs minutes (Poisson(1) weights, drawn once the number of minutes is
known), so each cell also sums its requests' minute weights under every
resample. :func:`knee_cells` reads a proxy's requests in time slices of
``SLICE`` rows: a slice carries the previous minute's timestamps and ends
between two distinct timestamps, so every request's load is what one pass
over the whole stream gives, and each slice is reduced to its cells before
the next. Memory follows the cells (loads x latency buckets) and the minutes,
not the requests (docs/fanout.md, 'Memory'); the counts are integers, so the
sums are exact in any order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from copilot.analysis.outcomes import E5XX
from copilot.throttling.requests import Requests
from copilot.throttling.tally import tally
from copilot.timeunits import MINUTE_MS

SLICE = 1 << 18  # rows: a slice's temporaries stay a few tens of MB
WINDOW_MS = MINUTE_MS  # the trailing window of a request's load
LOG_STEP = math.log(1.02)
NO_LATENCY = -1  # the bucket of a request without a target time (sorts first)
_BUCKET_BITS, _BUCKET_OFFSET = 15, 1 << 14  # packed bucket: raw + offset, 0 for none


@dataclass(frozen=True)
class KneeCells:
    """Requests alike in all the knee reads, sorted by (load, failed, bucket)."""

    load: np.ndarray  # int64: requests in the trailing minute
    bad: np.ndarray  # bool: a 5xx or a backend 429
    bucket: np.ndarray  # int64 log bucket of the target time, from the lowest (-1: none)
    lo_bucket: int  # the lowest raw bucket
    count: np.ndarray  # float requests
    resampled: np.ndarray  # float (cells x resamples): requests weighted by their minute's draw
    per_minute: np.ndarray  # requests per minute with any
    offsets: list[float]  # per resample: its bins' random shift

    @property
    def size(self) -> int:
        return int(self.count.size)


def trailing_load(context: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Per time in ``ts``: the times of sorted ``context`` in the window ending at it."""
    right = np.searchsorted(context, ts, side="right")
    return right - np.searchsorted(context, ts - WINDOW_MS, side="right")


def knee_cells(
    req: Requests, rows: np.ndarray, resamples: int, slice_rows: int = SLICE
) -> KneeCells:
    """The cells of ``rows`` (time-ordered requests that reached the backend), with
    ``resamples`` bootstrap draws (fixed seed: same logs, same interval)."""
    minutes, per_minute = _minutes(req, rows, slice_rows)
    rng = np.random.default_rng(0)
    draws = [(rng.poisson(1.0, minutes.size), float(rng.uniform())) for _ in range(resamples)]
    weights = np.column_stack([w for w, _ in draws] or [np.zeros((minutes.size, 0))]).astype(float)
    cells = (np.zeros(0, np.int64), np.zeros(0), np.zeros((0, weights.shape[1])))
    carry = np.zeros(0, np.int64)
    for part in _slices(req.ts, rows, slice_rows):
        ts = req.ts[part]
        context = np.concatenate([carry, ts])
        key = _key(req, part, trailing_load(context, ts))
        cells = _merge(cells, _reduce_slice(key, np.searchsorted(minutes, ts // MINUTE_MS), weights))
        carry = context[context > ts[-1] - WINDOW_MS]
    uniq, count, resampled = cells
    load, bad, shifted = uniq >> (_BUCKET_BITS + 1), (uniq >> _BUCKET_BITS) & 1, uniq & 0x7FFF
    has = shifted > 0
    lo = int(shifted[has].min()) if has.any() else _BUCKET_OFFSET
    bucket = np.where(has, shifted - lo, NO_LATENCY)
    return KneeCells(
        load, bad.astype(bool), bucket, lo - _BUCKET_OFFSET, count, resampled, per_minute,
        [offset for _, offset in draws],
    )  # fmt: skip


def _slices(ts: np.ndarray, rows: np.ndarray, size: int):
    """``rows`` in pieces of about ``size``, never splitting requests of one millisecond."""
    a = 0
    while a < rows.size:
        b = min(a + size, rows.size)
        while b < rows.size and ts[rows[b]] == ts[rows[b - 1]]:
            b += 1
        yield rows[a:b]
        a = b


def _minutes(req: Requests, rows: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct minutes of ``rows`` and their requests."""
    found = [tally(req.ts[p] // MINUTE_MS) for p in _slices(req.ts, rows, size)]
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    minutes, inverse = np.unique(np.concatenate([m for m, _ in found]), return_inverse=True)
    counts = np.bincount(inverse, weights=np.concatenate([c for _, c in found]))
    return minutes, counts.astype(np.int64)


def _key(req: Requests, part: np.ndarray, load: np.ndarray) -> np.ndarray:
    """One int64 per request, ordered as (load, failed, bucket) sort."""
    outcome = req.outcome[part]
    lat = req.target_ms[part]
    has = np.isfinite(lat) & (lat > 0)
    # finite float32 times fall in buckets -349 .. 4480: the offset keeps them in 15 bits
    raw = np.floor(np.log(np.maximum(lat[has], 1e-3)) / LOG_STEP).astype(np.int64)
    shifted = np.zeros(part.size, np.int64)
    shifted[has] = raw + _BUCKET_OFFSET
    bad = ((outcome >> 1) == E5XX) | ((outcome & 1) == 1)
    return (load.astype(np.int64) << 1 | bad) << _BUCKET_BITS | shifted


Cells = tuple[np.ndarray, np.ndarray, np.ndarray]  # sorted keys, requests, resampled sums


def _merge(a: Cells, b: Cells) -> Cells:
    """Two sets of cells as one (the running total stays one row per distinct key)."""
    keys = np.union1d(a[0], b[0])
    count = np.zeros(keys.size)
    resampled = np.zeros((keys.size, a[2].shape[1]))
    for part in (a, b):
        at = np.searchsorted(keys, part[0])
        count[at] += part[1]
        resampled[at] += part[2]
    return keys, count, resampled


def _reduce_slice(
    key: np.ndarray, minute: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A slice's distinct keys, their requests, and their requests' minute weights summed."""
    from scipy import sparse

    uniq, inverse = np.unique(key, return_inverse=True)
    by_minute = sparse.csr_matrix(
        (np.ones(key.size), (inverse, minute)), shape=(uniq.size, weights.shape[0])
    )
    return uniq, np.bincount(inverse, minlength=uniq.size).astype(float), by_minute @ weights
