"""Seasonal baselines: the right slots for the data at hand, robust medians and MADs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from copilot.analysis.baseline import (
    HOUR_OF_DAY,
    HOUR_OF_DAY_DAYTYPE,
    HOUR_OF_WEEK,
    choose_seasonality,
    seasonal_baseline,
    slots,
)
from copilot.analysis.scoring import count_score

MONDAY = pd.Timestamp("2024-03-04", tz="UTC")


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (1, HOUR_OF_DAY),
        (5, HOUR_OF_DAY),  # Monday to Friday: no weekend to learn from
        (6, HOUR_OF_DAY),  # one weekend day is not enough
        (7, HOUR_OF_DAY_DAYTYPE),
        (13, HOUR_OF_DAY_DAYTYPE),
        (15, HOUR_OF_WEEK),
    ],
)
def test_the_slots_follow_how_much_data_there_is(days: int, expected: str) -> None:
    minutes = pd.date_range(MONDAY, periods=days * 1440, freq="min")
    assert choose_seasonality(minutes) == expected


def test_slot_numbers() -> None:
    stamps = pd.DatetimeIndex(
        ["2024-03-04 00:30", "2024-03-04 13:00", "2024-03-09 13:00", "2024-03-10 23:59"], tz="UTC"
    )
    assert slots(stamps, HOUR_OF_DAY).tolist() == [0, 13, 13, 23]
    assert slots(stamps, HOUR_OF_DAY_DAYTYPE).tolist() == [0, 13, 37, 47]
    assert slots(stamps, HOUR_OF_WEEK).tolist() == [0, 13, 5 * 24 + 13, 6 * 24 + 23]


def test_seasonal_baseline_is_the_slot_median_and_scaled_mad_ignoring_nan() -> None:
    values = np.array([[1.0, 10.0, 2.0, 20.0, 3.0, 99.0, np.nan, 30.0]])
    slot = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    median, scale = seasonal_baseline(values, slot)
    assert median[0].tolist() == [2.0, 25.0, 2.0, 25.0, 2.0, 25.0, 2.0, 25.0]
    # slot 0: |1-2|,|2-2|,|3-2| -> MAD 1; slot 1: 15, 5, 74, 5 -> MAD 10
    assert scale[0, 0] == pytest.approx(1.4826)
    assert scale[0, 1] == pytest.approx(14.826)


def test_an_outlier_barely_moves_the_baseline() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(100.0, 5.0, 24 * 60 * 7)
    values[:30] = 10_000.0  # a burst inside the series
    slot = np.tile(np.repeat(np.arange(24), 60), 7)
    median, scale = seasonal_baseline(values, slot)
    assert abs(median[0] - 100.0) < 3.0 and scale[0] < 10.0


def test_count_scores_need_real_counts() -> None:
    # 3 requests where 1 is usual is not a surge; 300 where 100 are usual is
    assert count_score(np.array([3.0]), np.array([1.0]))[0] < 3.5
    assert count_score(np.array([300.0]), np.array([100.0]))[0] > 3.5
