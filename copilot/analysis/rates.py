"""Per-group statistics from sparse aggregates: rates, outcomes, latency.

Rate distributions count only the seconds (minutes) in which the group had
traffic: a group that called once an hour has a per-second p50 of 1, not 0.
That is the rate a SpikeArrest would see while the client is calling; how
much of its span a group is active shows in ``active_seconds`` /
``active_minutes`` beside ``first``/``last``. Quantiles of counts interpolate
linearly between order statistics, as ``pandas.Series.quantile`` does.

Counts per second are small integers, so their distribution per group is
computed from a sparse (group, count) histogram filled block by block as the
second cells stream past (no sort of the millions of second cells, and none
of them kept).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from copilot.analysis import sketch
from copilot.analysis.outcomes import FIELDS, field_sums
from copilot.analysis.sparse import SparseCounts, by_group, count_cells, split

Cells = tuple[np.ndarray, np.ndarray]

QUANTILES = (0.5, 0.95, 0.99)
_QNAMES = ("p50", "p95", "p99")
_DENSE_LIMIT = 1 << 23  # cells of a dense [group, count] histogram
_BLOCK = 1 << 20


def group_starts(groups: np.ndarray) -> np.ndarray:
    """Indices where a new group begins in an array sorted by group."""
    if groups.size == 0:
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])


def _interpolate(value_at, n: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Linear quantiles from ``value_at(rank)`` (0-based order statistics per group)."""
    out = np.empty((n.size, len(qs) + 1))
    last = np.maximum(n - 1, 0)
    for j, q in enumerate(qs):
        pos = q * last
        lo = np.floor(pos).astype(np.int64)
        a, b = value_at(lo), value_at(np.minimum(lo + 1, last))
        out[:, j] = a + (b - a) * (pos - lo)
    out[:, -1] = value_at(last)
    out[n == 0] = np.nan
    return out


def _hist_quantiles(hist: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Quantiles and max per row of a ``[group, value]`` histogram."""
    cum = np.cumsum(hist, axis=1)
    return _interpolate(lambda rank: np.argmax(cum > rank[:, None], axis=1), cum[:, -1], qs)


def distribution(
    groups: np.ndarray, values: np.ndarray, n_groups: int, qs: tuple[float, ...] = QUANTILES
) -> np.ndarray:
    """``[n_groups, len(qs) + 1]``: quantiles and max of non-negative integer values per group."""
    if groups.size == 0:
        return np.full((n_groups, len(qs) + 1), np.nan)
    width = int(values.max()) + 1
    if n_groups * width <= _DENSE_LIMIT:
        hist = np.bincount(groups * width + values, minlength=n_groups * width)
        return _hist_quantiles(hist.reshape(n_groups, width), qs)
    n = np.bincount(groups, minlength=n_groups)
    ordered = np.sort(groups.astype(np.int64) * width + values)  # by (group, value)
    starts = np.r_[0, np.cumsum(n)[:-1]]
    top = ordered.size - 1  # groups without values are masked by _interpolate

    return _interpolate(lambda rank: ordered[np.minimum(starts + rank, top)] % width, n, qs)


def weighted_distribution(
    groups: np.ndarray,
    values: np.ndarray,
    weights: np.ndarray,
    n_groups: int,
    qs: tuple[float, ...] = QUANTILES,
) -> np.ndarray:
    """As ``distribution``, from a histogram: ``weights[i]`` occurrences of ``values[i]``.

    The histogram must be sorted by group, then value (``by_group``).
    """
    if groups.size == 0:
        return np.full((n_groups, len(qs) + 1), np.nan)
    weights = weights.astype(np.int64)
    n = np.bincount(groups, weights=weights, minlength=n_groups).astype(np.int64)
    cum = np.cumsum(weights)  # rank r of a group is the first entry with cum > start + r
    starts = np.r_[0, np.cumsum(n)[:-1]]
    top = values.size - 1  # groups without values are masked by _interpolate

    def value_at(rank: np.ndarray) -> np.ndarray:
        return values[np.minimum(np.searchsorted(cum, starts + rank, side="right"), top)]

    return _interpolate(value_at, n, qs)


def _blocks(size: int, block: int = _BLOCK):
    for start in range(0, size, block):
        yield slice(start, min(start + block, size))


def rate_table(cells: Iterable[Cells], n_groups: int) -> pd.DataFrame:
    """Span and per-second/per-minute rate distribution per group, from second cells.

    ``cells``: reduced, key-sorted blocks of (group, second) cells, each
    second in one block (``SparseCounts.blocks``; ``[(keys, counts)]`` for
    arrays at hand). Only per-group figures, the per-minute cells and the
    (group, count) histogram are kept, so memory does not follow the cells.
    """
    first = np.full(n_groups, np.iinfo(np.int64).max)
    last = np.full(n_groups, -1)
    active = np.zeros(n_groups, dtype=np.int64)
    per_count = SparseCounts()  # (group, count per second) -> seconds
    minutes = SparseCounts()
    for keys, counts in cells:
        for part in _blocks(keys.size):
            group, second = split(keys[part])
            c = counts[part].astype(np.int64)
            np.minimum.at(first, group, second)
            np.maximum.at(last, group, second)
            active += np.bincount(group, minlength=n_groups)
            per_count.add(*count_cells(group, c))
            minutes.add(*count_cells(group, second // 60, c))
    present = last >= 0
    frame = pd.DataFrame(
        {
            "first_s": np.where(present, first, -1),
            "last_s": last,
            "active_seconds": active,
        }
    )
    _put_rates(frame, "rps", weighted_distribution(*by_group(*per_count.result()), n_groups))
    m_keys, m_counts = minutes.result()
    m_group, _ = split(m_keys)
    frame["active_minutes"] = np.bincount(m_group, minlength=n_groups)
    _put_rates(frame, "rpm", distribution(m_group, m_counts.astype(np.int64), n_groups))
    return frame


def _put_rates(frame: pd.DataFrame, prefix: str, q: np.ndarray) -> None:
    for j, name in enumerate((*_QNAMES, "max")):
        frame[f"{prefix}_{name}"] = q[:, j]


def outcome_table(keys: np.ndarray, counts: np.ndarray, n_groups: int) -> pd.DataFrame:
    """Requests and error counts/rates per group, from (group, outcome) cells."""
    group, code = split(keys)
    frame = pd.DataFrame(field_sums(group, code, counts, n_groups))
    requests = np.maximum(frame["requests"].to_numpy(), 1)
    errors = frame["errors_4xx"] + frame["errors_5xx"] + frame["gateway_429"]
    frame["error_rate"] = errors / requests
    for field in FIELDS[1:]:
        frame[f"rate_{field.removeprefix('errors_')}"] = frame[field] / requests
    return frame


def latency_table(keys: np.ndarray, counts: np.ndarray, n_groups: int, prefix: str) -> pd.DataFrame:
    """p50/p95/p99 latency per group from (group, fine bucket) cells; NaN without data."""
    group, bucket, counts = by_group(keys, counts)
    real = bucket != sketch.NAN_BUCKET
    present, idx = sketch.sparse_quantiles(group[real], bucket[real], counts[real], QUANTILES)
    values = sketch.bucket_value(idx)
    frame = pd.DataFrame(index=pd.RangeIndex(n_groups))
    for j, name in enumerate(_QNAMES):
        frame[f"{prefix}_{name}"] = pd.Series(values[:, j], index=present, dtype="float64")
    return frame
