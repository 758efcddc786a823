"""Healthy vs degraded time and the abusive client, on the bundled sample's ground truth."""

from __future__ import annotations

import json

import pandas as pd

from tests.throttling.conftest import SAMPLE

TRUTH = json.loads(SAMPLE.with_name("apigee-analytics-7d.scenario.json").read_text())


def _window(w: dict) -> tuple[pd.Timestamp, pd.Timestamp]:
    return pd.Timestamp(w["start"]), pd.Timestamp(w["end"])


def test_the_incident_is_excluded_with_its_reason(sample_run) -> None:
    start, end = _window(TRUTH["incident"]["peak"])
    incidents = [w for w in sample_run.report.excluded if w.kind == "incident"]
    assert [w.proxy for w in incidents] == ["orders"]
    w = incidents[0]
    assert w.start <= start and w.end >= end  # the whole plateau
    assert "5xx share" in w.reason and w.requests > 0


def test_the_scrapers_daytime_run_is_an_attack_window(sample_run) -> None:
    run = _window(TRUTH["abusive"]["windows"][2])
    attacks = [w for w in sample_run.report.excluded if w.kind == "attack"]
    assert len(attacks) == 1 and attacks[0].app == TRUTH["abusive"]["developer_app"]
    assert abs(attacks[0].start - run[0]) <= pd.Timedelta(minutes=5)
    assert abs(attacks[0].end - run[1]) <= pd.Timedelta(minutes=5)


def test_the_abusive_client_is_named_and_no_one_else(sample_run) -> None:
    named = [(a.app, a.client_id) for a in sample_run.report.abusive]
    assert named == [(TRUTH["abusive"]["developer_app"], TRUTH["abusive"]["client_id"])]
    spans = [w for w in sample_run.report.excluded if w.kind == "abusive_client"]
    assert len(spans) == len(TRUTH["abusive"]["windows"])
    assert all("left out of legitimate traffic" in w.reason for w in spans)


def test_excluded_windows_are_listed_in_the_json(sample_run) -> None:
    body = sample_run.to_dict()
    kinds = {w["kind"] for w in body["excluded"]}
    assert kinds == {"incident", "attack", "abusive_client"}
    assert all(w["reason"] and w["minutes"] > 0 for w in body["excluded"])
