"""The merge of time-sorted runs is a stable sort by time, read a window at a time."""

from __future__ import annotations

import numpy as np
import pytest

from copilot.throttling import spilled_sort


def _runs(rng: np.random.Generator, sizes: list[int], distinct: int) -> np.ndarray:
    """Runs of ``sizes`` rows, each sorted, over ``distinct`` times (ties within and across)."""
    runs = [np.sort(rng.integers(0, distinct, n)) for n in sizes]
    return np.concatenate([np.zeros(0, np.int64), *runs]).astype(np.int64)


def _merged(ts: np.ndarray, sizes: list[int], reads: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The raw positions in the merge's order, and the times it gave with them."""

    def read(start: int, count: int) -> np.ndarray:
        reads.append(count)
        return ts[start : start + count].copy()

    positions, times = [], []
    for step in spilled_sort.merge(read, sizes):
        rows = np.concatenate([np.arange(a, a + k) for a, k in step.ranges])
        positions.append(rows if step.order is None else rows[step.order])
        times.append(step.ts)
    if not positions:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(positions), np.concatenate(times)


CASES = {
    "one run": [500],
    "two runs": [300, 200],
    "many small runs": [7] * 40,
    "uneven with empty runs": [1, 0, 250, 3, 0, 90, 1],
    "no runs": [],
}


@pytest.mark.parametrize("block", [1, 2, 8, 100, 1 << 18])
@pytest.mark.parametrize("distinct", [3, 1_000], ids=["bursts", "sparse"])
@pytest.mark.parametrize("case", list(CASES))
def test_the_merge_is_a_stable_sort_of_the_runs_by_time(
    monkeypatch, case: str, distinct: int, block: int
) -> None:
    monkeypatch.setattr(spilled_sort, "BLOCK", block)
    sizes = CASES[case]
    ts = _runs(np.random.default_rng(len(sizes) * distinct + block), sizes, distinct)
    reads: list[int] = []
    positions, times = _merged(ts, sizes, reads)
    np.testing.assert_array_equal(positions, np.argsort(ts, kind="stable"))
    np.testing.assert_array_equal(times, ts[positions])
    # each run is read once, a window of BLOCK / runs rows (at least one) at a time
    assert sum(reads) == ts.size
    assert max(reads, default=0) <= max(1, block // max(len(sizes), 1))


def test_runs_already_in_order_are_copied_through_without_reordering() -> None:
    ts = np.arange(1_000, dtype=np.int64) // 3
    steps = list(spilled_sort.merge(lambda a, n: ts[a : a + n], [1_000]))
    assert all(s.order is None and len(s.ranges) == 1 for s in steps)
    np.testing.assert_array_equal(np.concatenate([s.ts for s in steps]), ts)
