"""SpikeArrest smoothing: one request per interval, a burst of about a tenth of the rate."""

from __future__ import annotations

import pytest

from copilot.errors import InputError
from copilot.scopes.spikearrest import SpikeArrest, parse_rate


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ten_per_second_admits_one_request_per_hundred_milliseconds() -> None:
    clock = FakeClock()
    limiter = SpikeArrest("10ps", clock=clock)
    assert limiter.admit() is None
    wait = limiter.admit()
    assert wait == pytest.approx(0.1)
    clock.now += 0.1
    assert limiter.admit() is None


def test_thirty_per_minute_is_one_every_two_seconds_not_thirty_at_once() -> None:
    clock = FakeClock()
    limiter = SpikeArrest("30pm", clock=clock)
    assert [limiter.admit() is None for _ in range(4)] == [True, True, True, False]
    clock.now += 2.0
    assert limiter.admit() is None


def test_the_burst_allowance_is_about_a_tenth_of_the_rate() -> None:
    limiter = SpikeArrest("300pm", clock=FakeClock())
    admitted = sum(limiter.admit() is None for _ in range(100))
    assert admitted == 30
    assert "maxBurstMessageCount=30.0" in limiter.fault_text()
    assert "messagesPerPeriod=300" in limiter.fault_text()


def test_identifiers_have_their_own_buckets() -> None:
    limiter = SpikeArrest("1pm", clock=FakeClock())
    assert limiter.admit("orders") is None
    assert limiter.admit("orders") == pytest.approx(60.0)
    assert limiter.admit("payments") is None


@pytest.mark.parametrize("rate", ["", "10", "10pd", "0ps", "-1pm", "tenps"])
def test_malformed_rates_are_refused(rate: str) -> None:
    with pytest.raises(InputError, match="must look like"):
        parse_rate(rate)
