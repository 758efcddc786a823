"""Dashboard view models shape the analysis without changing its numbers."""

from __future__ import annotations

import pytest

from copilot.dashboard import traffic as views
from copilot.pipeline import AnalysisRun, analyze_paths
from tests.paths import LOGS, SAMPLE_LOG


@pytest.fixture(scope="module")
def sample_run() -> AnalysisRun:
    return analyze_paths([SAMPLE_LOG])


@pytest.mark.parametrize("resolution", list(views.RESOLUTIONS.values()))
def test_traffic_series_keeps_every_request_at_every_resolution(
    sample_run: AnalysisRun, resolution: str
) -> None:
    series = views.traffic_series(sample_run.analysis, resolution=resolution)
    assert series["requests"].sum() == sample_run.quarantine.records
    by_proxy = series.groupby("proxy")["errors_5xx"].sum().to_dict()
    assert by_proxy == {g.key["proxy"]: g.errors_5xx for g in sample_run.analysis.proxies}


def test_traffic_series_filters_proxies(sample_run: AnalysisRun) -> None:
    series = views.traffic_series(sample_run.analysis, ["orders"], "1h")
    assert set(series["proxy"]) == {"orders"}


def test_summary_counts_match_the_quarantine() -> None:
    run = analyze_paths([LOGS / "analytics_export.csv"])
    head = views.summary(run)
    assert (head["records"], head["rejected"], head["proxies"]) == (7, 3, 4)
    assert len(views.rejected_table(run)) == 3
    assert list(views.rejected_table(run)["kind"]) == [
        "wrong_field_count", "bad_number", "bad_timestamp",
    ]  # fmt: skip
    assert views.rejected_kinds(run) == "wrong_field_count 1, bad_number 1, bad_timestamp 1"


def test_anomaly_table_is_typed_even_when_empty() -> None:
    run = analyze_paths([LOGS / "analytics_export.csv"])
    table = views.anomaly_table(run.analysis)
    assert table.empty and str(table["start"].dtype) == "datetime64[ms, UTC]"


def test_anomaly_table_names_the_drivers_of_the_sample_incident(sample_run: AnalysisRun) -> None:
    table = views.anomaly_table(sample_run.analysis, ["catalog"])
    assert (table["proxy"] == "catalog").all()
    assert table["driven by"].str.contains("dealfinder-app").any()


def test_summary_with_chosen_proxies_counts_only_them(sample_run: AnalysisRun) -> None:
    everything = views.summary(sample_run)
    orders = views.summary(sample_run, ["orders"])
    expected = next(p.requests for p in sample_run.analysis.proxies if p.key["proxy"] == "orders")
    assert orders["requests"] == expected < everything["requests"]
    assert orders["proxies"] == 1
    assert orders["anomalies"] == sum(
        1 for a in sample_run.analysis.anomalies if a.proxy == "orders"
    )


def test_groups_on_keeps_only_the_chosen_proxies(sample_run: AnalysisRun) -> None:
    for kind in ("proxies", "consumers", "endpoints"):
        kept = views.groups_on(sample_run.analysis, kind, ["catalog"])
        assert kept and {g.key["proxy"] for g in kept} == {"catalog"}
