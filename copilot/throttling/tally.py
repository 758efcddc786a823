"""Counting equal values in time-ordered arrays in one pass, without sorting them again.

Request times (and their minutes, hours, seconds) come sorted: ``np.unique`` would sort
them anyway, and on a proxy of millions of requests that sort is most of the rate
statistics' time. :func:`tally` gives what ``np.unique(values, return_counts=True)`` gives,
by cutting runs of equal values; unsorted input falls back to ``np.unique``.
"""

from __future__ import annotations

import numpy as np

from copilot.analysis.rates import group_starts


def tally(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values (ascending) and how many times each occurs."""
    if values.size < 2:
        return np.unique(values, return_counts=True)
    if not (values[1:] >= values[:-1]).all():
        return np.unique(values, return_counts=True)
    starts = group_starts(values)
    return values[starts], np.diff(np.r_[starts, values.size])


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending (``np.unique(values)``)."""
    return tally(values)[0]
