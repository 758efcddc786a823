"""View models of the Throttling page (``copilot.throttling.views``): charts and downloads."""

from __future__ import annotations

import io
import zipfile

from copilot.throttling import views


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
    f = sample_run.report.forecasts[0]
    chart = views.forecast_chart(sample_run.report, f"{f.kind}: {f.target}")
    assert set(chart["part"]) == {"history", "next week"}
    ahead = chart[chart["part"] == "next week"]
    assert (
        len(ahead) == 168 and ahead["time"].min() > chart[chart["part"] == "history"]["time"].max()
    )
    assert views.forecast_chart(sample_run.report, "proxy: nope").empty


def test_the_download_holds_every_bundle(sample_run) -> None:
    names = zipfile.ZipFile(io.BytesIO(views.policies_zip(sample_run.report))).namelist()
    proxies = {n.split("/")[0] for n in names}
    assert proxies == set(views.proxies(sample_run.report))
    assert all("/apiproxy/" in n for n in names)
    orders = views.policy_files(sample_run.report, "orders")
    assert orders and all(text.strip() for text in orders.values())
