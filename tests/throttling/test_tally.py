"""Counting runs of sorted values gives what np.unique gives, sorted or not."""

from __future__ import annotations

import numpy as np
import pytest

from copilot.throttling.tally import distinct, tally


@pytest.mark.parametrize(
    "values",
    [
        [],
        [7],
        [3, 3, 3],
        [1, 2, 2, 5, 9, 9, 9],
        [5, 1, 5, 2],  # unsorted: the fallback
        [-4, -4, 0, 2**40, 2**40],
    ],
)
def test_tally_is_np_unique_with_counts(values: list[int]) -> None:
    array = np.array(values, dtype=np.int64)
    got_values, got_counts = tally(array)
    want_values, want_counts = np.unique(array, return_counts=True)
    np.testing.assert_array_equal(got_values, want_values)
    np.testing.assert_array_equal(got_counts, want_counts)
    assert got_values.dtype == want_values.dtype and got_counts.dtype == want_counts.dtype
    np.testing.assert_array_equal(distinct(array), np.unique(array))


def test_random_sorted_minutes_tally_like_np_unique() -> None:
    ts = np.sort(np.random.default_rng(1).integers(0, 10**9, 50_000))
    minutes = ts // 60_000
    for got, want in zip(tally(minutes), np.unique(minutes, return_counts=True), strict=True):
        np.testing.assert_array_equal(got, want)
