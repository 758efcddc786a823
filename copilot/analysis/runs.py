"""Sorted runs of sparse cells on disk, and the k-way merge that streams them back.

A per-second aggregate (``SparseCounts`` with a budget) that outgrows its
budget writes its cells as one sorted, reduced *run* to a private scratch
directory (``copilot.spill``) and starts afresh. Runs may overlap in time
(chunks come in any order), so reading them back is a k-way merge: every run
is read a window at a time, and each step emits the cells below the smallest
key that some run has not buffered yet, cut at a second boundary, reduced. So
memory holds one window per run and one block, whatever the number of cells,
and every second's cells come out in one block (a remap of its groups can be
reduced inside the block).

Runs of equal *level* are merged into one of the next level once ``FAN_IN``
of them pile up, so the runs a merge reads stay few (log-many in the cells).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from copilot import spill
from copilot.analysis.cells import COUNT, GROUP_BITS, reduce_keys

WINDOW = 1 << 17  # cells read from each source per step (1.5 MB)
FAN_IN = 8  # runs of one level merged into one run of the next
_ALL = -1  # no bound: the source is exhausted

Reader = Callable[[int, int], tuple[np.ndarray, np.ndarray]]
Cells = tuple[np.ndarray, np.ndarray]


class Cursor:
    """A sorted run of distinct keys, read a window at a time by ``read(start, count)``."""

    def __init__(self, read: Reader, size: int, window: int = WINDOW) -> None:
        self._read, self.size, self.window = read, size, window
        self.pos = 0  # items of the run buffered so far
        self.keys = np.zeros(0, np.int64)
        self.counts = np.zeros(0, COUNT)
        self.fill()

    @property
    def live(self) -> bool:
        return self.keys.size > 0 or self.pos < self.size

    @property
    def bound(self) -> int:
        """Every key of the run below this is buffered (``_ALL``: the whole run is)."""
        return _ALL if self.pos >= self.size else int(self.keys[-1]) + 1

    def fill(self) -> None:
        """Buffer the next window of the run after what is buffered."""
        n = min(self.window, self.size - self.pos)
        if n <= 0:
            return
        keys, counts = self._read(self.pos, n)
        self.pos += n
        if self.keys.size:
            keys, counts = np.r_[self.keys, keys], np.r_[self.counts, counts]
        self.keys, self.counts = keys, counts

    def take(self, cut: int) -> Cells:
        """Remove and return the buffered cells with keys below ``cut`` (all for ``_ALL``)."""
        i = self.keys.size if cut == _ALL else int(np.searchsorted(self.keys, cut))
        out = self.keys[:i], self.counts[:i]
        self.keys, self.counts = self.keys[i:], self.counts[i:]
        if not self.keys.size:
            self.fill()
        return out


def memory_cursor(keys: np.ndarray, counts: np.ndarray, window: int = WINDOW) -> Cursor:
    """A cursor over cells in memory (slices, no copies)."""
    return Cursor(lambda start, n: (keys[start : start + n], counts[start : start + n]),
                  keys.size, window)  # fmt: skip


def merge(cursors: Iterable[Cursor]) -> Iterator[Cells]:
    """Reduced, key-sorted blocks of the cells of all cursors, each block whole seconds."""
    live = [c for c in cursors if c.live]
    while live:
        bounds = [c.bound for c in live]
        limited = [b for b in bounds if b != _ALL]
        cut = _ALL if not limited else (min(limited) >> GROUP_BITS) << GROUP_BITS
        parts = [c.take(cut) for c in live]
        parts = [p for p in parts if p[0].size]
        if not parts:  # the nearest run's window is all one second: read on
            live[bounds.index(min(limited))].fill()
            continue
        if len(parts) == 1:
            yield parts[0]
        else:
            yield reduce_keys(np.concatenate([k for k, _ in parts]),
                              np.concatenate([c for _, c in parts]))  # fmt: skip
        live = [c for c in live if c.live]


@dataclass
class Run:
    """One sorted, reduced run in the scratch directory: ``<name>.keys`` and ``<name>.counts``."""

    name: str
    size: int
    level: int


class RunStore:
    """The runs an aggregate spilled, in a scratch directory made on first use."""

    def __init__(self) -> None:
        self.runs: list[Run] = []
        self._dir: spill.SpillDir | None = None
        self._made = 0

    @property
    def cells(self) -> int:
        """Cells on disk (before merging overlapping runs)."""
        return sum(r.size for r in self.runs)

    def write(self, blocks: Iterable[Cells], level: int = 0) -> None:
        """Store key-sorted, reduced, increasing blocks as one run (then merge runs if due)."""
        if self._dir is None:
            self._dir = spill.SpillDir(prefix="atc-cells-")
        run = Run(f"run{self._made}", 0, level)
        self._made += 1
        for keys, counts in blocks:
            spill.append(self._path(run, "keys"), keys.astype(np.int64, copy=False))
            spill.append(self._path(run, "counts"), counts.astype(COUNT, copy=False))
            run.size += keys.size
        if run.size:
            self.runs.append(run)
        self._compact()

    def _path(self, run: Run, column: str):
        assert self._dir is not None
        return self._dir.file(f"{run.name}.{column}")

    def cursor(self, run: Run, window: int = WINDOW) -> Cursor:
        def read(start: int, n: int) -> Cells:
            keys = spill.read(self._path(run, "keys"), np.int64, start, n)
            return keys, spill.read(self._path(run, "counts"), COUNT, start, n)

        return Cursor(read, run.size, window)

    def merge_all(self) -> None:
        """Merge every run into one (of the highest level present)."""
        self._merge(self.runs, max((r.level for r in self.runs), default=0))

    def _compact(self) -> None:
        tail = self.runs[-FAN_IN:]
        if len(tail) == FAN_IN and len({r.level for r in tail}) == 1:
            self._merge(tail, tail[0].level + 1)

    def _merge(self, runs: list[Run], level: int) -> None:
        if len(runs) < 2:
            return
        done = list(runs)
        self.runs = [r for r in self.runs if r not in done]
        self.write(merge([self.cursor(r) for r in done]), level)
        for r in done:
            for column in ("keys", "counts"):
                self._path(r, column).unlink(missing_ok=True)

    def close(self) -> None:
        """Remove every run (and the scratch directory)."""
        if self._dir is not None:
            self._dir.close()
            self._dir = None
        self.runs = []
