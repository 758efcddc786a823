"""Sparse (group, t) -> count aggregates that merge by addition.

Every streaming aggregate in the analysis is a count per ``(group, t)`` cell,
where ``group`` is a global integer id and ``t`` an integer such as a unix
second, ``minute << 8 | outcome`` or a histogram bucket. A cell is one int64
key ``t << GROUP_BITS | group`` — *time-major*, so the cells of time-ordered
chunks come after the ones already kept and are appended without sorting
(only a second split between two chunks needs merging). Out-of-order chunks
are merged by sorting once their cells pile up.

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


def _concat_release(arrays: list[np.ndarray], dtype) -> np.ndarray:
    """Concatenate, dropping each input as soon as it is copied (peak: output + one input)."""
    out = np.empty(sum(a.size for a in arrays), dtype=dtype)
    at = 0
    for i, a in enumerate(arrays):
        out[at : at + a.size] = a
        at += a.size
        arrays[i] = out[:0]  # release our reference to the input
    arrays.clear()
    return out


class SparseCounts:
    """A growing sum of sparse (group, t) counts.

    Runs of sorted cells are kept as they come. A run that starts after the
    previous one ends is appended as is; one that overlaps only the previous
    run's tail (time-ordered chunks share their boundary second) has the
    overlap merged in place. Anything else marks the aggregate unordered, and
    it is merged by one sort when the pending cells outnumber the merged ones
    (linear total cost; memory at most about twice the aggregate).
    """

    _SMALL_OVERLAP = 1 << 16

    def __init__(self) -> None:
        self._keys: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._ordered = True
        self._pending = 0
        self._merged = 0

    def add(self, keys: np.ndarray, counts: np.ndarray) -> None:
        """Add a sorted run of distinct keys with their counts."""
        if keys.size == 0:
            return
        if self._keys and self._ordered and keys[0] <= self._keys[-1][-1]:
            if not self._merge_tail(keys, counts):
                self._ordered = False
                self._append(keys, counts)
            return
        self._append(keys, counts)

    def _append(self, keys: np.ndarray, counts: np.ndarray) -> None:
        if keys.size == 0:
            return
        self._keys.append(keys)
        self._counts.append(counts)
        if not self._ordered:
            self._pending += keys.size
            if self._pending > max(self._merged, 1 << 20):
                self._merge()

    def _merge_tail(self, keys: np.ndarray, counts: np.ndarray) -> bool:
        """Merge a run overlapping only the last run's tail; False if the overlap is large."""
        last, last_counts = self._keys[-1], self._counts[-1]
        i = int(np.searchsorted(last, keys[0]))
        j = int(np.searchsorted(keys, last[-1], side="right"))
        if (last.size - i) + j > self._SMALL_OVERLAP:
            return False
        if i == 0 and len(self._keys) > 1 and keys[0] <= self._keys[-2][-1]:
            return False  # reaches back past the last run
        merged = reduce_keys(np.r_[last[i:], keys[:j]], np.r_[last_counts[i:], counts[:j]])
        self._keys[-1], self._counts[-1] = last[:i], last_counts[:i]
        if i == 0:
            self._keys.pop()
            self._counts.pop()
        self._append(*merged)
        self._append(keys[j:], counts[j:])
        return True

    def add_cells(self, group: np.ndarray, t: np.ndarray) -> None:
        """Count one row per (group, t) pair."""
        self.add(*count_cells(group, t))

    def _merge(self) -> None:
        if len(self._keys) > 1:
            keys = _concat_release(self._keys, np.int64)
            counts = _concat_release(self._counts, COUNT)
            if not self._ordered:
                keys, counts = reduce_keys(keys, counts)
            self._keys, self._counts = [keys], [counts]
        self._ordered = True
        self._merged = self._keys[0].size if self._keys else 0
        self._pending = 0

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """All cells: sorted distinct keys and their counts."""
        self._merge()
        if not self._keys:
            return np.zeros(0, np.int64), np.zeros(0, COUNT)
        return self._keys[0], self._counts[0]

    def remap(self, lut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cells with each group replaced by ``lut[group]``, equal cells summed."""
        keys, counts = self.result()
        group, t = split(keys)
        return reduce_keys((t << GROUP_BITS) | lut[group].astype(np.int64), counts)
