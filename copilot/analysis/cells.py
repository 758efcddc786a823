"""Sparse (group, t) -> count cells: keys, counting, reducing (``SparseCounts`` adds them up).

Every streaming aggregate in the analysis is a count per ``(group, t)`` cell,
where ``group`` is a global integer id and ``t`` an integer such as a unix
second, ``minute << 8 | outcome`` or a histogram bucket. A cell is one int64
key ``t << GROUP_BITS | group`` — *time-major*: sorted keys list the cells
second by second (minute by minute), which is what lets time-ordered chunks
append their cells and lets spilled runs stream back in time order.

The cells of one chunk are counted with ``np.bincount`` on chunk-local keys
when the chunk's span x groups is small (the common case) and with
``np.unique`` otherwise. Memory follows the number of distinct cells, never
the number of rows.
"""

from __future__ import annotations

import numpy as np

GROUP_BITS = 23  # up to 8M groups; t < 2**40 (unix minute << 8 fits)
GROUP_MASK = (1 << GROUP_BITS) - 1
_DENSE_MIN = 1 << 16
COUNT = np.int32  # counts per cell stay far below 2**31


def count_keys(
    keys: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct non-negative int64 keys (sorted) and how often each occurs.

    With ``weights`` (integers), each key's weights are summed instead.
    """
    if keys.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, COUNT)
    lo, hi = int(keys.min()), int(keys.max())
    span = hi - lo + 1
    if span <= max(4 * keys.size, _DENSE_MIN):
        counts = np.bincount(keys - lo, weights=weights, minlength=span)
        idx = np.flatnonzero(counts)
        return idx + lo, counts[idx].astype(COUNT)
    if weights is None:
        uniq, counts = np.unique(keys, return_counts=True)
        return uniq.astype(np.int64), counts.astype(COUNT)
    uniq, inverse = np.unique(keys, return_inverse=True)
    return uniq.astype(np.int64), np.bincount(inverse, weights=weights).astype(COUNT)


def count_cells(
    group: np.ndarray, t: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Count rows per (group, t) cell: sorted keys ``t << GROUP_BITS | group`` and counts.

    With ``weights``, each cell sums its rows' weights instead of counting them.

    Counting uses chunk-local keys ``(t - t_min) * n_groups + group``, which
    sort like the global keys, so the dense ``bincount`` path applies whenever
    the chunk's span x groups is small.
    """
    if group.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, COUNT)
    t = t.astype(np.int64, copy=False)
    t_min = int(t.min())
    width = int(group.max()) + 1
    keys, counts = count_keys((t - t_min) * width + group, weights)
    off, g = np.divmod(keys, width)
    return ((off + t_min) << GROUP_BITS) | g, counts


def reduce_keys(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum the counts of equal keys; result sorted by key."""
    if keys.size == 0:
        return keys.astype(np.int64), counts.astype(COUNT)
    if keys.size > 1 and not (keys[1:] >= keys[:-1]).all():
        order = np.argsort(keys)
        keys, counts = keys[order], counts[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    if starts.size == keys.size:
        return keys, counts.astype(COUNT, copy=False)
    return keys[starts], np.add.reduceat(counts, starts).astype(COUNT)


def split(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split keys into (group, t)."""
    return keys & GROUP_MASK, keys >> GROUP_BITS


def by_group(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group, t, count) of cells, sorted by group then t."""
    group, t = split(keys)
    order = np.argsort((group << 40) | t)
    return group[order], t[order], counts[order]
