"""On the bundled sample, the analysis finds what the generator's scenario says happened."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from copilot.analysis import COLUMNS_USED, Analysis, analyze
from copilot.logs.quarantine import Quarantine
from copilot.logs.reader import ReadOptions, iter_chunks
from tests.paths import SAMPLE

EXPORT = SAMPLE / "apigee-analytics-7d.csv.gz"
SCENARIO = SAMPLE / "apigee-analytics-7d.scenario.json"


@pytest.fixture(scope="module")
def scenario() -> dict:
    return json.loads(SCENARIO.read_text())


@pytest.fixture(scope="module")
def analysis() -> Analysis:
    options = ReadOptions(columns=COLUMNS_USED)
    return analyze(iter_chunks([EXPORT], Quarantine(), options))


def _overlaps(anomaly, window: dict) -> bool:
    start, end = pd.Timestamp(window["start"]), pd.Timestamp(window["end"])
    return anomaly.start < end and anomaly.end > start


def test_the_incident_is_found_on_its_proxy_with_the_apps_that_caused_it(analysis, scenario):
    incident = scenario["incident"]
    for metric in ("requests", "error_rate", "latency_p95"):
        hits = [
            a
            for a in analysis.anomalies
            if a.proxy == incident["proxy"]
            and a.metric == metric
            and _overlaps(a, incident["window"])
        ]
        assert hits, metric
        drivers = {d.app for a in hits for d in a.drivers}
        assert drivers and drivers <= set(incident["apps"]), (metric, drivers)


def test_the_scrapers_daytime_crawl_is_a_request_anomaly_it_drove(analysis, scenario):
    abusive = scenario["abusive"]
    hits = [
        a
        for a in analysis.anomalies
        if a.proxy == abusive["proxy"]
        and a.metric == "requests"
        and any(_overlaps(a, w) for w in abusive["windows"])
    ]
    assert hits
    assert all(a.drivers[0].app == abusive["developer_app"] for a in hits)


def test_gateway_throttling_is_counted_where_the_limits_are(analysis, scenario):
    throttled = {p.key["proxy"]: p.gateway_429 for p in analysis.proxies if p.gateway_429 > 0}
    limited = {lim["proxy"] for lim in scenario["limits"] if lim["proxy"]}
    assert limited <= set(throttled)
