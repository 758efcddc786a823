"""Rate strings, quota units and tiers: what apigeelint does not check, atc does."""

from __future__ import annotations

import pytest

from copilot.errors import InputError
from copilot.throttling.rates import (
    burst_allowance,
    format_rate,
    is_valid_rate,
    per_minute,
    tier_up,
)


@pytest.mark.parametrize(
    ("rate", "valid"),
    [("10ps", True), ("300pm", True), ("1pm", True), ("0pm", False), ("01pm", False),
     ("10", False), ("10pd", False), ("10 ps", False), ("-5pm", False), ("1.5ps", False)],
)  # fmt: skip
def test_rate_strings(rate: str, valid: bool) -> None:
    assert is_valid_rate(rate) is valid


@pytest.mark.parametrize(("rate", "rpm"), [("10ps", 600.0), ("30pm", 30.0), ("1ps", 60.0)])
def test_per_minute(rate: str, rpm: float) -> None:
    assert per_minute(rate) == rpm


def test_format_refuses_what_apigee_would() -> None:
    assert format_rate(80, "pm") == "80pm"
    with pytest.raises(InputError):
        format_rate(0, "pm")
    with pytest.raises(InputError):
        format_rate(5, "ph")


@pytest.mark.parametrize(("count", "burst"), [(1, 1), (9, 1), (10, 1), (30, 3), (300, 30)])
def test_burst_allowance_is_a_tenth_of_the_rate(count: int, burst: int) -> None:
    assert burst_allowance(count) == burst


@pytest.mark.parametrize(
    ("value", "tier"),
    [(0.2, 1), (1, 1), (1.2, 2), (2.5, 3), (4, 5), (6, 10), (12, 15), (37, 50), (51, 75),
     (76, 100), (101, 150), (4_100, 5_000)],
)  # fmt: skip
def test_quota_tiers_round_up(value: float, tier: int) -> None:
    assert tier_up(value) == tier
