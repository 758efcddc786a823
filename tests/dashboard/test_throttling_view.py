"""The Throttling page's view model over a real advice run on the bundled sample."""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import altair as alt
import pandas as pd
import pytest

from app_pages._data import column_config
from copilot.config import load_settings
from copilot.dashboard import advice, charts, fmt
from copilot.dashboard import throttling as view
from copilot.dashboard import throttling_views as views
from copilot.dashboard.columns import NUMBER_FORMATS, help_for
from copilot.dashboard.sources import bundle_hash
from copilot.throttling.report import ForecastFlag, Report
from copilot.throttling.run import suggest_paths
from tests.paths import FIXTURES

pytestmark = pytest.mark.slow  # suggests limits over generated traffic

BUNDLES = FIXTURES / "bundles" / "shopco"
APIGEE_RATE = re.compile(r"\b\d+(?:\.\d+)?p[ms]\b")


@pytest.fixture(scope="module")
def report() -> Report:
    return suggest_paths([load_settings().sample_path], bundles=[BUNDLES]).report


@pytest.fixture(scope="module")
def logs_only() -> Report:
    return suggest_paths([load_settings().sample_path]).report


@pytest.mark.parametrize(
    ("value", "text"),
    [(9.46, "9/min"), (17.67, "18/min"), (1234.4, "1,234/min"), (0.5, "30/h"), (None, "unknown")],
)
def test_estimates_in_requests_per_minute_are_whole(value: float | None, text: str) -> None:
    assert fmt.rpm(value) == text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("6pm, UseEffectiveCount [per client_id]", "6/min, UseEffectiveCount (per client_id)"),
        ("20ps", "20/s"),
        (
            "from apiproduct.developer.quota.limit (fallback 60) per 1 hour (calendar)",
            "set at run time by flow variable apiproduct.developer.quota.limit (60 if it is unset)"
            " per 1 hour (calendar)",
        ),
    ],
)
def test_bundle_limits_read_in_words(text: str, words: str) -> None:
    assert view.rates_in_words(text) == words


def test_suggestions_have_rates_per_unit_no_none_and_help_on_every_column(report: Report) -> None:
    table = view.suggestions(report)
    assert len(table) == len(report.suggestions)
    numeric = set(NUMBER_FORMATS["suggestions"])
    # Text cells are never missing; a numeric cell may be (not measured), shown empty.
    assert not table.drop(columns=list(numeric)).isna().any().any()
    text = table.drop(columns=["rationale", *numeric]).astype(str)
    assert not text.apply(lambda c: c.str.contains(APIGEE_RATE)).any().any()
    assert not (text == "None").any().any()
    spike = table[table["policy"] == "SpikeArrest"]["suggested"]
    assert spike.str.match(r"^\d[\d,.]*/(min|s)\b").all()
    assert set(help_for("suggestions", list(table.columns))) == set(table.columns)


@pytest.mark.parametrize(
    ("table", "make"),
    [
        ("suggestions", lambda r: view.suggestions(r)),
        ("forecast", lambda r: view.forecast(r)),
        ("retry_storms", lambda r: view.retry_storms(r)),
    ],
)
def test_measured_columns_are_numbers_so_they_sort_as_numbers(
    report: Report, table: str, make: Callable[[Report], pd.DataFrame]
) -> None:
    frame = make(report)
    for column, written in NUMBER_FORMATS[table].items():
        assert pd.api.types.is_numeric_dtype(frame[column]), (table, column)
        assert written.startswith("%"), written
    config = column_config(frame, table)
    for column in NUMBER_FORMATS[table]:
        assert config[column]["type_config"]["format"] == NUMBER_FORMATS[table][column]


def test_an_unknown_current_value_says_why(logs_only: Report, report: Report) -> None:
    from_logs = view.suggestions(logs_only)
    row = from_logs[(from_logs["target"] == "catalog") & (from_logs["policy"] == "SpikeArrest")]
    assert row["current"].iloc[0].endswith("its value is not in the logs")
    assert "value unknown" not in " ".join(from_logs["current"])
    with_bundle = view.suggestions(report)
    quota = with_bundle[(with_bundle["target"] == "catalog · shopco-ios")
                       & (with_bundle["policy"] == "Quota")]  # fmt: skip
    assert "set at run time by flow variable" in quota["current"].iloc[0]


def test_the_forecast_peak_reads_the_same_in_rationale_evidence_and_forecast(
    report: Report,
) -> None:
    forecast = view.forecast(report).set_index("series")
    checked = 0
    for s in report.suggestions:
        peak = s.evidence.get("forecast_peak_rpm")
        if s.scope != "proxy" or peak is None:
            continue
        shown = advice.evidence(s).set_index("what")["value"]["next week's forecast peak"]
        in_table = forecast.loc[f"proxy: {s.proxy}", "next week peak"]
        assert shown == NUMBER_FORMATS["forecast"]["next week peak"].replace("%g", f"{in_table:g}")
        assert f"forecast peak {shown.removesuffix('/min')} x" in s.rationale
        checked += 1
    assert checked >= 3


def test_evidence_and_replay_are_labelled_words(report: Report) -> None:
    for s in report.suggestions:
        for table in (advice.evidence(s), advice.replay(s)):
            assert not table["what"].str.contains("_").any()
            values = " ".join(table["value"])
            assert "None" not in values and "{" not in values and not APIGEE_RATE.search(values)


def test_the_filter_narrows_every_count_and_finding(report: Report) -> None:
    head = view.headline(report, ["orders"])
    assert head["suggestions"] == sum(1 for s in report.suggestions if s.proxy == "orders")
    assert head["abusive"] == 0 < view.headline(report)["abusive"]
    assert {f.proxy for f in advice.findings(report, ["orders"])} <= {"orders", ""}
    assert set(view.excluded(report, ["orders"])["proxy"]) == {"orders"}
    assert set(view.current_replays(report, ["orders"])["proxy"]) == {"orders"}
    assert all(
        t.startswith(("proxy: orders", "app: ")) for t in view.forecast_targets(report, ["orders"])
    )


def test_bundle_findings_and_capacity_unknown_are_sentences(report: Report) -> None:
    texts = [f.text for f in advice.findings(report)]
    assert any("48,057 requests not replayed" in t for t in texts)  # a bundle warning
    unknown = ForecastFlag("payments", "proxy", 12.4, 22.0, "capacity unknown", 15.0, 18.0, 0.4)
    flagged = dataclasses.replace(report, flags=[unknown], warnings=[], unmodelled=[
        {"bundle": "payments", "policy": "SA-X", "file": "f.xml", "reason": "weights ignored"}])  # fmt: skip
    texts = [f.text for f in advice.findings(flagged, ["payments"])]
    assert any(t.startswith("Capacity unknown beyond 22/min on **payments**") for t in texts)
    assert any(
        t.startswith("Not modelled from the bundle payments (SA-X): weights ignored") for t in texts
    )


def test_the_replay_chart_has_one_legend_for_demand_limits_and_rejections(report: Report) -> None:
    frame = views.proxy_chart(report, "orders", "5min")
    with alt.data_transformers.disable_max_rows():
        spec = charts.replay_chart(frame).to_dict()
    colors = [layer["encoding"]["color"] for layer in spec["layer"]]
    domain = colors[0]["scale"]["domain"]
    assert {
        "demand (busiest minute)",
        "suggested limit",
        "current limit",
        "rejected by replay",
    } <= set(domain)
    assert all(c.get("legend") is not None for c in colors)
    assert all(layer["encoding"]["x"]["timeUnit"].startswith("utc") for layer in spec["layer"])


def test_the_forecast_chart_names_its_band_and_p99_in_utc(report: Report) -> None:
    label = view.forecast_targets(report)[0]
    spec = charts.forecast_chart(
        views.forecast_chart(report, label), view.forecast_band(report, label)
    ).to_dict()
    legends = [
        enc.get(ch)
        for enc in (layer["encoding"] for layer in spec["layer"])
        for ch in ("fill", "stroke", "color")
    ]
    assert sum(1 for channel in legends if channel and channel.get("legend")) == 3
    assert all(layer["encoding"]["x"]["timeUnit"].startswith("utc") for layer in spec["layer"])


def test_a_bundle_hash_follows_its_content(tmp_path: Path) -> None:
    folder = tmp_path / "b"
    (folder / "policies").mkdir(parents=True)
    (folder / "policies" / "SA.xml").write_text("<SpikeArrest/>")
    first = bundle_hash(folder)
    assert bundle_hash(folder) == first
    (folder / "policies" / "SA.xml").write_text("<SpikeArrest name='x'/>")
    assert bundle_hash(folder) != first


def test_progress_counts_the_records_read(tmp_path: Path) -> None:
    seen: list[int] = []
    run = suggest_paths([load_settings().sample_path], progress=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] == run.quarantine.records


def test_no_table_has_a_missing_cell(report: Report) -> None:
    for frame in (view.forecast(report), view.current_replays(report), view.excluded(report),
                  view.retry_storms(report)):  # fmt: skip
        assert isinstance(frame, pd.DataFrame) and not frame.isna().any().any()


# --- charts and downloads (copilot.dashboard.throttling_views) ---


def test_the_proxy_chart_has_traffic_limits_and_replay(report: Report) -> None:
    chart = views.proxy_chart(report, "orders", "15min")
    assert set(chart["series"]) == {
        "demand (busiest minute)",
        "rejected by replay",
        "suggested limit",
        "current limit",
    }
    limits = chart[chart["series"] == "current limit"]["rpm"].unique()
    assert list(limits) == [15.0]
    times = chart.groupby("series")["time"].nunique()
    assert times.nunique() == 1  # every series on the same buckets
    assert views.proxy_chart(report, "nope").empty


def test_the_forecast_chart_marks_next_week(report: Report) -> None:
    f = report.forecasts[0]
    chart = views.forecast_chart(report, f"{f.kind}: {f.target}")
    assert set(chart["part"]) == {"history", "next week"}
    ahead = chart[chart["part"] == "next week"]
    assert (
        len(ahead) == 168 and ahead["time"].min() > chart[chart["part"] == "history"]["time"].max()
    )
    assert views.forecast_chart(report, "proxy: nope").empty


def test_the_download_holds_every_bundle(report: Report) -> None:
    names = zipfile.ZipFile(io.BytesIO(views.policies_zip(report))).namelist()
    proxies = {n.split("/")[0] for n in names}
    assert proxies == set(views.proxies(report))
    assert all("/apiproxy/" in n for n in names)
    orders = views.policy_files(report, "orders")
    assert orders and all(text.strip() for text in orders.values())
