"""Sparse (group, t) -> count aggregates that merge by addition (cells: ``copilot.analysis.cells``).

A ``SparseCounts`` keeps sorted runs of cells in memory. The per-second
aggregates get a *budget* (``SPILL_CELLS``): past it, the cells in memory are
written as one sorted, reduced run to a scratch directory (``copilot.analysis.runs``)
and memory starts afresh, so what an aggregate holds stays bounded however
many seconds fill in. ``blocks()`` streams everything back, reduced and
time-major, in blocks of whole seconds; ``result()`` gathers it all (small
aggregates, tests, ``keep_seconds``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from copilot.analysis import runs
from copilot.analysis.cells import (
    COUNT,
    GROUP_BITS,
    GROUP_MASK,
    by_group,
    count_cells,
    count_keys,
    reduce_keys,
    split,
)

__all__ = [
    "COUNT",
    "GROUP_BITS",
    "GROUP_MASK",
    "SPILL_CELLS",
    "SparseCounts",
    "by_group",
    "count_cells",
    "count_keys",
    "reduce_keys",
    "split",
]

# Cells a per-second aggregate keeps in memory before spilling a run: 12 bytes
# each (int64 key + int32 count), so 12 MB, and up to about three times that
# while out-of-order chunks are merged. About what a 1M-row week fills in.
SPILL_CELLS = 1 << 20
Cells = tuple[np.ndarray, np.ndarray]


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


def gather(blocks: Iterator[Cells]) -> Cells:
    """The blocks (of ``SparseCounts.blocks``) as one pair of arrays."""
    keys, counts = [], []
    for k, c in blocks:
        keys.append(k)
        counts.append(c)
    if not keys:
        return np.zeros(0, np.int64), np.zeros(0, COUNT)
    return _concat_release(keys, np.int64), _concat_release(counts, COUNT)


class SparseCounts:
    """A growing sum of sparse (group, t) counts; past ``budget`` cells, spilled to disk.

    Runs of sorted cells are kept as they come. A run that starts after the
    previous one ends is appended as is; one that overlaps only the previous
    run's tail (time-ordered chunks share their boundary second) has the
    overlap merged in place. Anything else marks the aggregate unordered, and
    it is merged by one sort when the pending cells outnumber the merged ones
    (linear total cost; memory at most about twice the aggregate).

    With a ``budget``, cells in memory beyond it are written out as a sorted,
    reduced run; runs may overlap in time (chunks in any order) and are
    merged exactly when read back (``blocks``). ``close`` removes them; so
    does dropping the aggregate.
    """

    _SMALL_OVERLAP = 1 << 16

    def __init__(self, budget: int | None = None) -> None:
        self.budget = budget
        self._keys: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._ordered = True
        self._pending = 0
        self._merged = 0
        self._runs = runs.RunStore()

    @property
    def spilled(self) -> int:
        """How many runs are on disk."""
        return len(self._runs.runs)

    @property
    def held(self) -> int:
        """Cells in memory."""
        return sum(k.size for k in self._keys)

    def add(self, keys: np.ndarray, counts: np.ndarray) -> None:
        """Add a sorted run of distinct keys with their counts."""
        if keys.size == 0:
            return
        if self._keys and self._ordered and keys[0] <= self._keys[-1][-1]:
            if not self._merge_tail(keys, counts):
                self._ordered = False
                self._append(keys, counts)
        else:
            self._append(keys, counts)
        if self.budget is not None and self.held > self.budget:
            if not self._ordered:
                self._merge()
            if self.held > self.budget // 2:
                self._spill()

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

    def _spill(self) -> None:
        """Write the cells in memory as one run (ordered runs are disjoint and increasing)."""
        if not self._ordered:
            self._merge()
        parts = list(zip(self._keys, self._counts, strict=True))
        self._keys, self._counts = [], []
        self._merged = self._pending = 0
        self._runs.write(parts)

    def blocks(self, window: int = runs.WINDOW) -> Iterator[Cells]:
        """All cells, reduced and key-sorted, in blocks of whole seconds (t values).

        Memory: about one ``window`` per spilled run, plus what is in memory.
        """
        self._merge()
        cursors = [self._runs.cursor(r, window) for r in self._runs.runs]
        if self._keys:
            cursors.append(runs.memory_cursor(self._keys[0], self._counts[0], window))
        return runs.merge(cursors)

    def remap_blocks(self, lut: np.ndarray) -> Iterator[Cells]:
        """``blocks`` with each group replaced by ``lut[group]``, equal cells summed."""
        for keys, counts in self.blocks():
            group, t = split(keys)
            yield reduce_keys((t << GROUP_BITS) | lut[group].astype(np.int64), counts)

    def compact(self) -> int:
        """Bring the cells to one sorted run (on disk if any was spilled); how many cells."""
        if self._runs.runs:
            self._spill()
            self._runs.merge_all()
            return self._runs.cells
        self._merge()
        return self.held

    def result(self) -> Cells:
        """All cells: sorted distinct keys and their counts."""
        if self._runs.runs:
            return gather(self.blocks())
        self._merge()
        if not self._keys:
            return np.zeros(0, np.int64), np.zeros(0, COUNT)
        return self._keys[0], self._counts[0]

    def remap(self, lut: np.ndarray) -> Cells:
        """Cells with each group replaced by ``lut[group]``, equal cells summed."""
        if self._runs.runs:
            return gather(self.remap_blocks(lut))
        keys, counts = self.result()
        group, t = split(keys)
        return reduce_keys((t << GROUP_BITS) | lut[group].astype(np.int64), counts)

    def close(self) -> None:
        """Remove the spilled runs (the aggregate is then what is left in memory: do not reuse)."""
        self._runs.close()
