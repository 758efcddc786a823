"""Sparse (group, t) counts add up exactly whatever the order of the runs."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from copilot.analysis.sparse import SparseCounts, count_cells, split


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
