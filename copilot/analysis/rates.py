"""Per-group statistics from sparse aggregates: rates, outcomes, latency.

Rate distributions count only the seconds (minutes) in which the group had
traffic: a group that called once an hour has a per-second p50 of 1, not 0.
That is the rate a SpikeArrest would see while the client is calling; how
much of its span a group is active shows in ``active_seconds`` /
``active_minutes`` beside ``first``/``last``. Quantiles of counts interpolate
linearly between order statistics, as ``pandas.Series.quantile`` does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from copilot.analysis import sketch
from copilot.analysis.outcomes import FIELDS, N_OUTCOMES, outcome_totals
from copilot.analysis.sparse import STRIDE, reduce_sorted, split

QUANTILES = (0.5, 0.95, 0.99)
_QNAMES = ("p50", "p95", "p99")


def group_starts(groups: np.ndarray) -> np.ndarray:
    """Indices where a new group begins in an array sorted by group."""
    if groups.size == 0:
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])


def count_quantiles(
    groups: np.ndarray, values: np.ndarray, qs: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Linear-interpolated quantiles and max of ``values`` per group.

    Returns (distinct groups, ``[n_groups, len(qs) + 1]`` with max last).
    """
    if groups.size == 0:
        return groups[:0], np.zeros((0, len(qs) + 1))
    top = int(values.max()) + 1
    order = np.sort(groups.astype(np.int64) * top + values)  # sort by (group, value)
    g, v = np.divmod(order, top)
    starts = group_starts(g)
    n = np.diff(np.r_[starts, g.size])
    out = np.empty((starts.size, len(qs) + 1))
    for j, q in enumerate(qs):
        pos = q * (n - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, n - 1)
        a, b = v[starts + lo], v[starts + hi]
        out[:, j] = a + (b - a) * (pos - lo)
    out[:, -1] = v[starts + n - 1]
    return g[starts], out


def rate_table(keys: np.ndarray, counts: np.ndarray, n_groups: int) -> pd.DataFrame:
    """Span and per-second/per-minute rate distribution per group, from second cells."""
    group, second = split(keys)
    frame = pd.DataFrame(index=pd.RangeIndex(n_groups))
    starts = group_starts(group)
    ends = np.r_[starts[1:], group.size] - 1
    present = group[starts]
    frame["first_s"] = pd.Series(second[starts], index=present, dtype="Int64")
    frame["last_s"] = pd.Series(second[ends], index=present, dtype="Int64")
    frame["active_seconds"] = pd.Series(ends - starts + 1, index=present).astype("Int64")
    _put_rates(frame, "rps", group, counts)
    m_keys, m_counts = reduce_sorted(group * STRIDE + second // 60, counts)
    m_group, _ = split(m_keys)
    frame["active_minutes"] = pd.Series(np.bincount(m_group, minlength=n_groups)).astype("Int64")
    _put_rates(frame, "rpm", m_group, m_counts)
    return frame


def _put_rates(frame: pd.DataFrame, prefix: str, group: np.ndarray, counts: np.ndarray) -> None:
    present, q = count_quantiles(group, counts, QUANTILES)
    for j, name in enumerate((*_QNAMES, "max")):
        frame[f"{prefix}_{name}"] = pd.Series(q[:, j], index=present, dtype="float64")


def outcome_table(keys: np.ndarray, counts: np.ndarray, n_groups: int) -> pd.DataFrame:
    """Requests and error counts/rates per group, from (group, outcome) cells."""
    group, code = split(keys)
    dense = np.bincount(group * N_OUTCOMES + code, weights=counts, minlength=n_groups * N_OUTCOMES)
    totals = outcome_totals(dense.astype(np.int64))
    frame = pd.DataFrame(totals, columns=list(FIELDS))
    requests = np.maximum(frame["requests"].to_numpy(), 1)
    frame["error_rate"] = (totals[:, 1] + totals[:, 2] + totals[:, 3]) / requests
    for field in FIELDS[1:]:
        frame[f"rate_{field.removeprefix('errors_')}"] = frame[field] / requests
    return frame


def latency_table(keys: np.ndarray, counts: np.ndarray, n_groups: int, prefix: str) -> pd.DataFrame:
    """p50/p95/p99 latency per group from (group, fine bucket) cells; NaN without data."""
    group, bucket = split(keys)
    real = bucket != sketch.NAN_BUCKET
    present, idx = sketch.sparse_quantiles(group[real], bucket[real], counts[real], QUANTILES)
    values = sketch.bucket_value(idx)
    frame = pd.DataFrame(index=pd.RangeIndex(n_groups))
    for j, name in enumerate(_QNAMES):
        frame[f"{prefix}_{name}"] = pd.Series(values[:, j], index=present, dtype="float64")
    return frame
