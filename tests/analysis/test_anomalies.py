"""Anomaly detection finds injected incidents, names who drove them, and stays quiet otherwise."""

from __future__ import annotations

import pandas as pd
import pytest

from copilot.analysis import Analysis, analyze, detect, flag_minutes
from copilot.analysis.baseline import HOUR_OF_DAY_DAYTYPE
from tests.analysis.synth import START, seasonal_frame

T = pd.Timedelta
BURST = ("partner-x", T(days=2, hours=15), 20, 10.0)  # Wed 15:00-15:20, partner-x x10
ERRORS = ("shop-ios", T(days=3, hours=10), 30, 0.6)  # Thu 10:00-10:30, 60 % of shop-ios fail
SLOW = ("payments", T(days=4, hours=16), 45, 5.0)  # Fri 16:00-16:45, latency ramps to x5
TOLERANCE = T(minutes=5)


@pytest.fixture(scope="module")
def clean() -> Analysis:
    return analyze([seasonal_frame(seed=21)])


@pytest.fixture(scope="module")
def incidents() -> Analysis:
    return analyze([seasonal_frame(seed=22, burst=BURST, errors=ERRORS, slow=SLOW)])


def _only(analysis: Analysis, proxy: str, metric: str):
    found = [a for a in analysis.anomalies if a.proxy == proxy and a.metric == metric]
    assert len(found) == 1, found
    return found[0]


def _assert_window(anomaly, incident: tuple) -> None:
    start = START + incident[1]
    end = start + T(minutes=incident[2])
    assert abs(anomaly.start - start) <= TOLERANCE, (anomaly.start, start)
    assert abs(anomaly.end - end) <= TOLERANCE, (anomaly.end, end)


def test_clean_seasonal_traffic_raises_nothing(clean) -> None:
    assert clean.anomalies == []
    assert clean.seasonality == HOUR_OF_DAY_DAYTYPE


def test_each_injected_incident_is_found_once_and_nothing_else(incidents) -> None:
    kinds = sorted((a.proxy, a.metric) for a in incidents.anomalies)
    assert kinds == [
        ("orders", "error_rate"),
        ("orders", "requests"),
        ("payments", "latency_p95"),
    ]


def test_a_client_burst_is_a_request_anomaly_driven_by_that_client(incidents) -> None:
    burst = _only(incidents, "orders", "requests")
    _assert_window(burst, BURST)
    assert burst.peak_value > 2 * burst.baseline and burst.score > 3.5
    assert burst.drivers[0].app == "partner-x" and burst.drivers[0].client_id == "k-px"
    assert burst.drivers[0].share > 0.8
    assert burst.severity in {"medium", "high"}


def test_a_5xx_incident_is_an_error_anomaly_driven_by_the_failing_client(incidents) -> None:
    errors = _only(incidents, "orders", "error_rate")
    _assert_window(errors, ERRORS)
    assert errors.peak_value > 0.1 and errors.baseline < 0.01
    assert [d.app for d in errors.drivers] == ["shop-ios"]


def test_a_latency_climb_is_a_latency_anomaly_with_no_client_to_blame(incidents) -> None:
    slow = _only(incidents, "payments", "latency_p95")
    # the ramp starts at x1, so detection starts once it has climbed a little
    start = START + SLOW[1]
    assert start <= slow.start <= start + T(minutes=15)
    assert abs(slow.end - (start + T(minutes=SLOW[2]))) <= TOLERANCE
    assert slow.peak_value > 3 * slow.baseline
    assert slow.drivers == ()  # no client sent more than usual: the backend slowed down


def test_detection_runs_on_its_own_on_the_minute_frames(incidents) -> None:
    found, seasonality = detect(incidents.proxy_minutes, incidents.app_minutes)
    assert found == incidents.anomalies and seasonality == incidents.seasonality


def test_flag_minutes_marks_the_degraded_minutes_for_reuse(incidents) -> None:
    scored = flag_minutes(incidents.proxy_minutes, "error_rate")
    assert scored.attrs["seasonality"] == HOUR_OF_DAY_DAYTYPE
    assert list(scored.columns) == ["proxy", "minute", "value", "baseline", "score", "flagged"]
    flagged = scored[scored["flagged"]]
    start = START + ERRORS[1]
    inside = flagged["minute"].between(start - TOLERANCE, start + T(minutes=ERRORS[2]) + TOLERANCE)
    assert (flagged["proxy"] == "orders").all() and inside.all()
    assert inside.sum() >= ERRORS[2] * 0.8
    with pytest.raises(ValueError):
        flag_minutes(incidents.proxy_minutes, "nonsense")


def test_anomalies_serialise_with_their_window_and_drivers(incidents) -> None:
    body = incidents.to_dict()["anomalies"]
    assert {a["metric"] for a in body} == {"requests", "error_rate", "latency_p95"}
    burst = next(a for a in body if a["metric"] == "requests")
    assert set(burst) >= {
        "proxy",
        "metric",
        "start",
        "end",
        "minutes",
        "peak_value",
        "baseline",
        "score",
        "severity",
        "drivers",
    }
    assert burst["drivers"][0]["app"] == "partner-x"
    assert burst["start"].startswith("2024-03-06T15:0")
