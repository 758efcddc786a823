"""The k-way merge that sorts a spilled share by time without holding it (docs/fanout.md, 'Memory').

The collector writes each chunk's rows of a proxy as a *run* already sorted by
time (a stable sort: ties keep their order in the chunk), and a run that starts
no earlier than the previous one ended simply extends it, so files read in time
order leave one run per proxy. The share's order is time, ties in arrival order
(chunk order, then row order), which is the order of (time, run, position): a
k-way merge of the runs. As in ``copilot.analysis.runs``, each run is read a
window at a time and each step emits every buffered row that no unread row can
precede, so memory holds about ``BLOCK`` rows whatever the share's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

BLOCK = 1 << 18  # rows read from disk at once, over all the runs being merged

ReadTimes = Callable[[int, int], np.ndarray]  # (start, count) -> int64 times of the raw file


@dataclass
class Step:
    """Rows the merge emits at once: ``ranges`` (start, count) of the raw file, one per run
    in run order, and ``order``, the permutation of their concatenation into time order
    (None: already in order); ``ts`` their times, in time order."""

    ranges: list[tuple[int, int]]
    order: np.ndarray | None
    ts: np.ndarray


class _Run:
    """One run (rows ``start .. start + size`` of the raw file), read a window at a time."""

    def __init__(self, read: ReadTimes, start: int, size: int, window: int) -> None:
        self._read, self.start, self.size, self.window = read, start, size, window
        self.pos = 0  # rows of the run buffered so far
        self.taken = 0  # rows of the run emitted so far
        self.ts = np.zeros(0, np.int64)
        self.fill()

    @property
    def read_all(self) -> bool:
        return self.pos >= self.size

    @property
    def live(self) -> bool:
        return self.taken < self.size

    def fill(self) -> None:
        n = min(self.window, self.size - self.pos)
        if n > 0:
            more = self._read(self.start + self.pos, n)
            self.pos += n
            self.ts = np.r_[self.ts, more] if self.ts.size else more

    def take(self, k: int) -> tuple[tuple[int, int], np.ndarray]:
        """Emit the first ``k`` buffered rows: their range in the raw file and their times."""
        out = (self.start + self.taken, k), self.ts[:k]
        self.ts, self.taken = self.ts[k:], self.taken + k
        if not self.ts.size:
            self.fill()
        return out


def merge(read: ReadTimes, runs: list[int]) -> Iterator[Step]:
    """The rows of consecutive runs of ``runs[i]`` rows each, merged by (time, run, position)."""
    window = max(1, BLOCK // max(len(runs), 1))
    starts = np.r_[0, np.cumsum(runs)[:-1]].tolist() if runs else []
    live = [_Run(read, s, n, window) for s, n in zip(starts, runs, strict=True) if n]
    while live:
        # The least (last buffered time, run) of the runs with rows unread: no unread row
        # precedes it, so every buffered row up to it, in (time, run) order, can go.
        open_ = [(int(r.ts[-1]), i) for i, r in enumerate(live) if not r.read_all]
        bound, last = min(open_) if open_ else (None, len(live))
        parts = []
        for i, run in enumerate(live):
            if bound is None:
                k = run.ts.size
            else:
                k = int(np.searchsorted(run.ts, bound, side="right" if i <= last else "left"))
            if k:
                parts.append(run.take(k))
        ts = parts[0][1] if len(parts) == 1 else np.concatenate([t for _, t in parts])
        order = None
        if len(parts) > 1 and ts.size > 1 and not (ts[1:] >= ts[:-1]).all():
            order = np.argsort(ts, kind="stable")  # stable: ties in run order
            ts = ts[order]
        yield Step([r for r, _ in parts], order, ts)
        live = [r for r in live if r.live]
