"""Next week's flags: a growing API is flagged when its p90 passes the knee's lower bound,
with the probability of passing it; with no knee in the data, a forecast beyond the
highest healthy load seen is "capacity unknown", not a clean bill of health."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from copilot.throttling.forecast import forecast
from copilot.throttling.knee import Knee
from copilot.throttling.run import knee_flags
from tests.throttling.test_forecast import growing


def knee(rpm: float | None, low: float | None = None, seen: float = 0.0) -> Knee:
    return Knee("orders", rpm, seen, 60.0, 0.0, None, None, "generated", pd.DataFrame(), low)


@pytest.fixture(scope="module")
def grown():
    """21 days growing 7 % a day, and the busiest minute of the week that followed."""
    history, truth = growing(21, 0.07, seed=5)
    return forecast(history, "orders", "proxy"), truth


def test_growth_carries_the_forecast_past_a_knee_last_week_stayed_under(grown) -> None:
    fc, truth = grown
    assert abs(fc.p50 / truth - 1) <= 0.15  # the growth is in next week's peak
    between = 1.1 * fc.last_week_peak  # a knee last week never reached
    assert between < fc.p90
    [flag] = knee_flags(
        SimpleNamespace(knees={"orders": knee(between + 5, between)}), "orders", fc
    )
    assert flag.against == "knee (lower bound)" and flag.limit_rpm == between  # safety: the low end
    assert flag.p90_rpm == fc.p90 and flag.probability > 0.5


def test_a_knee_above_next_weeks_p90_is_not_flagged(grown) -> None:
    fc, _ = grown
    ctx = SimpleNamespace(knees={"orders": knee(1.2 * fc.p90, 1.1 * fc.p90)})
    assert knee_flags(ctx, "orders", fc) == []


def test_no_knee_and_a_forecast_beyond_the_load_seen_is_capacity_unknown(grown) -> None:
    fc, _ = grown
    seen = fc.highest_seen
    [flag] = knee_flags(SimpleNamespace(knees={"orders": knee(None, seen=seen)}), "orders", fc)
    assert flag.against == "capacity unknown" and flag.limit_rpm == seen
    assert flag.to_dict()["finding"] == f"capacity unknown beyond {seen:.0f} req/min"


def test_no_knee_within_the_load_seen_is_not_a_finding(grown) -> None:
    fc, _ = grown
    plenty = knee(None, seen=3 * fc.p99)  # loads far above next week's were healthy
    assert knee_flags(SimpleNamespace(knees={"orders": plenty}), "orders", fc) == []
