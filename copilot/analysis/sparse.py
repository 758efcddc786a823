"""Sparse (group, t) -> count aggregates that merge by addition.

Every streaming aggregate in the analysis is a count per ``(group, t)`` cell,
where ``group`` is a global integer id and ``t`` an integer such as a unix
second, ``minute * 8 + outcome`` or a histogram bucket. A cell is stored as one
int64 key ``group * STRIDE + t``; the cells of one chunk are counted with
``np.bincount`` when their key range is small (the common case: a chunk covers a
short time span) and with ``np.unique`` otherwise. ``SparseCounts`` keeps the
per-chunk results and compacts them (sort + add) when they pile up, so memory
follows the number of distinct cells, never the number of rows.
"""

from __future__ import annotations

import numpy as np

STRIDE = 1 << 40  # t < 2**40 (unix minute * 256 fits); group < 2**23
_DENSE_MIN = 1 << 16


def count_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct non-negative int64 keys (sorted) and how often each occurs."""
    if keys.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lo, hi = int(keys.min()), int(keys.max())
    span = hi - lo + 1
    if span <= max(4 * keys.size, _DENSE_MIN):
        counts = np.bincount(keys - lo, minlength=span)
        idx = np.flatnonzero(counts)
        return idx.astype(np.int64) + lo, counts[idx].astype(np.int64)
    uniq, counts = np.unique(keys, return_counts=True)
    return uniq.astype(np.int64), counts.astype(np.int64)


def count_cells(group: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Count rows per (group, t) cell; returns global keys ``group * STRIDE + t``.

    Counting happens on chunk-local keys ``group * span_t + (t - t_min)`` so the
    dense ``bincount`` path applies whenever groups x span is small.
    """
    if group.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    t = t.astype(np.int64, copy=False)
    t_min = int(t.min())
    span = int(t.max()) - t_min + 1
    local = group.astype(np.int64) * span + (t - t_min)
    keys, counts = count_keys(local)
    g, off = np.divmod(keys, span)
    return g * STRIDE + (off + t_min), counts


def reduce_sorted(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge duplicate keys of unsorted (keys, counts) by addition; result sorted."""
    if keys.size == 0:
        return keys.astype(np.int64), counts.astype(np.int64)
    order = np.argsort(keys)
    keys = keys[order]
    counts = counts[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return keys[starts], np.add.reduceat(counts, starts).astype(np.int64)


def split(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split global keys into (group, t)."""
    return np.divmod(keys, STRIDE)


class SparseCounts:
    """A growing sum of sparse (group, t) counts, compacted as it grows."""

    def __init__(self) -> None:
        self._keys: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._pending = 0
        self._compacted = 0

    def add(self, keys: np.ndarray, counts: np.ndarray) -> None:
        """Add counts for keys (duplicates allowed; they are summed)."""
        if keys.size == 0:
            return
        self._keys.append(keys)
        self._counts.append(counts)
        self._pending += keys.size
        # Compact once the pending cells outnumber the compacted ones: the cost
        # stays linear overall and memory at most about twice the aggregate.
        if self._pending > max(self._compacted, 1 << 20):
            self._compact()

    def add_cells(self, group: np.ndarray, t: np.ndarray) -> None:
        """Count one row per (group, t) pair."""
        self.add(*count_cells(group, t))

    def _compact(self) -> None:
        if len(self._keys) > 1:
            keys, counts = reduce_sorted(np.concatenate(self._keys), np.concatenate(self._counts))
            self._keys, self._counts = [keys], [counts]
        self._compacted = self._keys[0].size if self._keys else 0
        self._pending = 0

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """All cells: sorted distinct keys and their counts."""
        self._compact()
        if not self._keys:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return self._keys[0], self._counts[0]

    def remap(self, lut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cells with their group replaced by ``lut[group]`` (summed, sorted)."""
        keys, counts = self.result()
        group, t = split(keys)
        return reduce_sorted(lut[group].astype(np.int64) * STRIDE + t, counts)
