"""Fixed log-bucket latency histograms (DDSketch-like) that merge by addition.

A latency ``x`` (ms) falls in bucket ``i = ceil(log_gamma(x / MIN_MS))`` with
``gamma = (1 + a) / (1 - a)`` and ``a = REL_ACCURACY`` (1 %): bucket ``i`` covers
``(MIN_MS * gamma**(i-1), MIN_MS * gamma**i]`` and is represented by
``MIN_MS * 2 * gamma**i / (gamma + 1)``, which is within ``a`` of every value in
it (Masson et al., "DDSketch", VLDB 2019). Values at or below ``MIN_MS`` share
bucket 0 (reported as 0 ms), values above ``MAX_MS`` are clipped to the last
bucket, and NaN (no target reached, field absent) goes to ``NAN_BUCKET``, which
quantiles ignore. Because the buckets are fixed, histograms from different
chunks add up exactly, so results do not depend on how the input was chunked.

The *coarse* histogram (per proxy and minute, for dashboard charts) merges
``COARSE_FACTOR`` fine buckets into one: about 5 % relative error.

Quantiles use the lower order statistic ``x[floor(q * (n - 1))]`` of the sorted
values: the bucket holding it is found from cumulative counts, vectorised over
many groups at once (``sparse_quantiles``).
"""

from __future__ import annotations

import math

import numpy as np

REL_ACCURACY = 0.01
GAMMA = (1 + REL_ACCURACY) / (1 - REL_ACCURACY)
_LOG_GAMMA = math.log(GAMMA)
MIN_MS = 0.01
MAX_MS = 1e7  # ~2.8 hours: nothing behind an API gateway waits longer
N_BUCKETS = math.ceil(math.log(MAX_MS / MIN_MS) / _LOG_GAMMA) + 1
NAN_BUCKET = N_BUCKETS  # one past the last real bucket
N_SLOTS = N_BUCKETS + 1  # real buckets + the NaN slot

COARSE_FACTOR = 5
N_COARSE = (N_BUCKETS - 2) // COARSE_FACTOR + 2
COARSE_NAN = N_COARSE
COARSE_REL_ACCURACY = (GAMMA**COARSE_FACTOR - 1) / (GAMMA**COARSE_FACTOR + 1)


def bucket_index(values: np.ndarray) -> np.ndarray:
    """Fine bucket of each latency (ms); NaN maps to ``NAN_BUCKET``. Returns int32."""
    x = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.ceil(np.log(x / MIN_MS) / _LOG_GAMMA)
    out = np.clip(np.nan_to_num(raw, nan=0.0, neginf=0.0), 0, N_BUCKETS - 1).astype(np.int32)
    out[np.isnan(x)] = NAN_BUCKET
    return out


def coarse_index(fine: np.ndarray) -> np.ndarray:
    """Coarse bucket of each fine bucket: bucket 0 stays 0, NaN maps to ``COARSE_NAN``."""
    fine = np.asarray(fine, dtype=np.int32)
    out = (fine + (COARSE_FACTOR - 1)) // COARSE_FACTOR
    out[fine == NAN_BUCKET] = COARSE_NAN
    return out


def bucket_value(index: np.ndarray) -> np.ndarray:
    """Representative latency (ms) of fine buckets (0 for bucket 0)."""
    i = np.asarray(index, dtype=np.float64)
    value = MIN_MS * 2.0 * np.power(GAMMA, i) / (GAMMA + 1.0)
    return np.where(i <= 0, 0.0, value)


def coarse_value(index: np.ndarray) -> np.ndarray:
    """Representative latency (ms) of coarse buckets (0 for bucket 0)."""
    c = np.asarray(index, dtype=np.float64)
    width = GAMMA**COARSE_FACTOR
    value = MIN_MS * 2.0 * np.power(GAMMA, c * COARSE_FACTOR) / (width + 1.0)
    return np.where(c <= 0, 0.0, value)


def sparse_quantiles(
    groups: np.ndarray, buckets: np.ndarray, counts: np.ndarray, qs: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles per group of a sparse histogram sorted by (group, bucket).

    ``groups``/``buckets``/``counts`` are parallel arrays of the non-empty
    (group, bucket) cells, sorted by group then bucket, with NaN cells already
    removed. Returns the distinct groups and a ``[len(groups), len(qs)]`` array
    of *bucket indices* (map them with ``bucket_value`` or ``coarse_value``).
    """
    if groups.size == 0:
        return groups[:0], np.zeros((0, len(qs)), dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    cum = np.cumsum(counts, dtype=np.int64)
    before = np.r_[0, cum[starts[1:] - 1]] if starts.size > 1 else np.zeros(1, np.int64)
    totals = np.r_[cum[starts[1:] - 1], cum[-1]] - before
    out = np.empty((starts.size, len(qs)), dtype=np.int64)
    for j, q in enumerate(qs):
        rank = np.floor(q * (totals - 1)).astype(np.int64)  # 0-based order statistic
        pos = np.searchsorted(cum, before + rank, side="right")
        out[:, j] = buckets[pos]
    return groups[starts], out
