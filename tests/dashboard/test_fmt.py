"""Numbers and times as the dashboard writes them."""

from __future__ import annotations

import pandas as pd
import pytest

from copilot.dashboard import fmt


@pytest.mark.parametrize(
    ("value", "per", "text"),
    [
        (6, "min", "6/min"),
        (13, "s", "13/s"),
        (0.1, "s", "6/min"),
        (2.5, "min", "2.5/min"),
        (1234.4, "min", "1,234/min"),
        (0.5, "min", "30/h"),
        (None, "min", "unknown"),
        (float("nan"), "s", "unknown"),
    ],
)
def test_rates_read_as_rates(value: float | None, per: str, text: str) -> None:
    assert fmt.rate(value, per) == text


@pytest.mark.parametrize(
    ("text", "shown"),
    [("600pm", "600/min"), ("20ps", "20/s"), ("9.5pm", "9.5/min"), ("", "unknown"), ("x", "x")],
)
def test_apigee_rates_become_per_unit(text: str, shown: str) -> None:
    assert fmt.policy_rate(text) == shown


def test_times_are_utc_24_hour_whatever_zone_they_come_in() -> None:
    assert fmt.utc_time("2026-11-19T17:40:00Z") == "2026-11-19 17:40 UTC"
    assert fmt.utc_time(pd.Timestamp("2026-11-19 12:40", tz="America/New_York")) == (
        "2026-11-19 17:40 UTC"
    )
    assert fmt.utc_time(pd.Timestamp("2026-11-19 17:40")) == "2026-11-19 17:40 UTC"
    assert fmt.utc_time(None) == "–"


def test_chart_times_use_a_utc_time_unit_and_a_24_hour_label() -> None:
    assert fmt.CHART_TIME_UNIT.startswith("utc")
    assert "%H:%M" in fmt.CHART_TIME_LABEL and "%I" not in fmt.CHART_TIME_LABEL


@pytest.mark.parametrize(
    ("value", "whole_from", "shown"),
    [
        (12.6, 10, 13.0),
        (6.44, 10, 6.4),
        (6.44, 1, 6.0),
        (0.456, 10, 0.46),
        (3.0, 10, 3.0),
        (None, 10, None),
        (float("nan"), 10, None),
    ],
)
def test_table_numbers_are_rounded_as_written_and_stay_numbers(
    value: float | None, whole_from: float, shown: float | None
) -> None:
    assert fmt.rounded(value, whole_from) == shown
