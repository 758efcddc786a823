"""Sparse (group, t) counts add up exactly whatever the order of the runs, spilled or not."""

from __future__ import annotations

import gc
from collections import Counter

import numpy as np
import pytest

from copilot.analysis.sparse import SparseCounts, count_cells, gather, split


def _cells(sparse: SparseCounts) -> dict[tuple[int, int], int]:
    keys, counts = sparse.result()
    assert np.all(np.diff(keys) > 0)
    group, t = split(keys)
    return {(int(g), int(x)): int(c) for g, x, c in zip(group, t, counts, strict=True)}


@pytest.mark.parametrize("order", ["in order", "reversed", "shuffled"])
@pytest.mark.parametrize("span", [50, 10**7])  # dense bincount path and np.unique path
def test_counts_equal_a_plain_counter_for_any_run_order(order: str, span: int) -> None:
    rng = np.random.default_rng(3)
    group = rng.integers(0, 7, 20_000)
    t = np.sort(rng.integers(0, span, 20_000))
    expected = Counter(zip(group.tolist(), t.tolist(), strict=True))
    bounds = np.sort(rng.choice(np.arange(1, 20_000), 30, replace=False))
    parts = list(zip(np.split(group, bounds), np.split(t, bounds), strict=True))
    if order == "reversed":
        parts.reverse()
    elif order == "shuffled":
        rng.shuffle(parts)
    sparse = SparseCounts()
    for g, x in parts:
        sparse.add_cells(g, x)
    assert _cells(sparse) == dict(expected)


def test_count_cells_sums_weights() -> None:
    keys, counts = count_cells(np.array([1, 1, 2]), np.array([5, 5, 5]), np.array([2, 3, 4]))
    group, t = split(keys)
    assert list(zip(group.tolist(), t.tolist(), counts.tolist(), strict=True)) == [
        (1, 5, 5),
        (2, 5, 4),
    ]


def _parts(seed: int, order: str, n: int = 40_000, groups: int = 60, span: int = 3_000):
    """Time-ordered chunks of (group, second) rows cut at random rows (so they split
    seconds), then put in ``order``."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, groups, n)
    t = np.sort(rng.integers(1_700_000_000, 1_700_000_000 + span, n))
    bounds = np.sort(rng.choice(np.arange(1, n), 120, replace=False))
    parts = list(zip(np.split(group, bounds), np.split(t, bounds), strict=True))
    if order == "reversed":
        parts.reverse()
    elif order == "shuffled":
        rng.shuffle(parts)
    return parts


def _filled(parts, budget: int | None) -> SparseCounts:
    sparse = SparseCounts(budget=budget)
    for g, x in parts:
        sparse.add_cells(g, x)
    return sparse


@pytest.mark.parametrize("order", ["in order", "reversed", "shuffled"])
def test_a_tiny_budget_spills_many_runs_and_changes_no_count(order: str, tmp_path, monkeypatch):
    monkeypatch.setenv("ATC_SPILL_DIR", str(tmp_path))
    parts = _parts(7, order)
    memory = _filled(parts, None)
    spilled = _filled(parts, 700)
    assert spilled.spilled > 1 and spilled.held <= 700
    assert any(tmp_path.rglob("run*.keys"))  # really on disk
    keys, counts = memory.result()
    for got in (spilled.result(), gather(spilled.blocks(window=5))):
        np.testing.assert_array_equal(got[0], keys)
        np.testing.assert_array_equal(got[1], counts)
    lut = np.arange(60) % 7  # several groups share a new group within a second
    expected = memory.remap(lut)
    for got in (spilled.remap(lut), gather(spilled.remap_blocks(lut))):
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])
    assert spilled.compact() == keys.size and spilled.spilled == 1
    np.testing.assert_array_equal(spilled.result()[0], keys)
    spilled.close()
    assert not list(tmp_path.rglob("*"))


def test_blocks_hold_whole_seconds_in_time_order_however_small_the_window() -> None:
    spilled = _filled(_parts(8, "shuffled", groups=40), 300)
    blocks = list(spilled.blocks(window=3))  # a second has up to 40 cells: windows refill
    seconds = [split(keys)[1] for keys, _ in blocks]
    assert len(blocks) > 10 and all(np.all(np.diff(k) > 0) for k, _ in blocks)
    for before, after in zip(seconds, seconds[1:], strict=False):
        assert before[-1] < after[0]  # no second is cut between two blocks
    spilled.close()


def test_dropping_a_spilled_aggregate_removes_its_runs(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ATC_SPILL_DIR", str(tmp_path))
    spilled = _filled(_parts(9, "reversed"), 500)
    assert spilled.spilled and any(tmp_path.rglob("run*"))
    del spilled
    gc.collect()
    assert not list(tmp_path.rglob("*"))
