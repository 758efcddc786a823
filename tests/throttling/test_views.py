"""View models of the Throttling page."""

from __future__ import annotations

import io
import zipfile

import pandas as pd

from copilot.throttling import views


def test_the_suggestions_table_has_one_row_per_suggestion(sample_run) -> None:
    report = sample_run.report
    table = views.suggestions_table(report)
    assert len(table) == len(report.suggestions)
    for col in ("target", "policy", "current", "suggested", "confidence", "legit rejected",
                "rationale"):  # fmt: skip
        assert col in table.columns
    orders = table[(table["target"] == "orders") & (table["policy"] == "spike_arrest")].iloc[0]
    assert orders["current"].startswith("SA-Global 15pm") and "capacity" in orders["rationale"]


def test_the_proxy_chart_has_traffic_limits_and_replay(sample_run) -> None:
    chart = views.proxy_chart(sample_run.report, "orders", "15min")
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
    assert views.proxy_chart(sample_run.report, "nope").empty


def test_the_forecast_chart_marks_next_week(sample_run) -> None:
    label = views.forecast_targets(sample_run.report)[0]
    chart = views.forecast_chart(sample_run.report, label)
    assert set(chart["part"]) == {"history", "next week"}
    ahead = chart[chart["part"] == "next week"]
    assert (
        len(ahead) == 168 and ahead["time"].min() > chart[chart["part"] == "history"]["time"].max()
    )
    table = views.forecast_table(sample_run.report)
    assert (table["chosen MAE"] <= table["seasonal naive MAE"]).all()


def test_the_download_holds_every_bundle(sample_run) -> None:
    names = zipfile.ZipFile(io.BytesIO(views.policies_zip(sample_run.report))).namelist()
    proxies = {n.split("/")[0] for n in names}
    assert proxies == set(views.proxies(sample_run.report))
    assert all("/apiproxy/" in n for n in names)


def test_headline_and_excluded(sample_run) -> None:
    head = views.headline(sample_run.report)
    assert head["abusive"] == 1 and head["conflicts"] >= 1
    excluded = views.excluded_table(sample_run.report, "orders")
    assert isinstance(excluded, pd.DataFrame) and list(excluded["kind"]) == ["incident"]


def test_forecast_flags_mark_proxies_and_apps(sample_run) -> None:
    table = views.forecast_table(sample_run.report).set_index(["kind", "target"])
    assert table.loc[("proxy", "orders"), "needs throttling"]  # forecast above the knee
    assert table.loc[("app", "storefront-web"), "needs throttling"]  # above SA-PerApp's 6pm
    assert not table.loc[("proxy", "customers"), "needs throttling"]
