"""Throttling: SpikeArrest and Quota suggestions with evidence, replay, forecast and XML."""

from __future__ import annotations

import altair as alt
import streamlit as st

from app_pages._source import advice_options, choose_logs
from app_pages._throttling_data import (
    forecast_band,
    forecast_intervals,
    retry_storms,
    suggestions_for,
)
from copilot.dashboard.fmt import labelled_rows
from copilot.throttling import views

st.title("Throttling")
paths, fmt = choose_logs()
# Headroom and bundle are chosen once in the sidebar (app.py) and hold across pages.
headroom, bundle = advice_options()
run = suggestions_for(paths, fmt, headroom, bundle)
if run is None:
    st.stop()
report = run.report
head = views.headline(report)

cols = st.columns(5)
cols[0].metric("Suggestions", head["suggestions"])
cols[1].metric("Capacity conflicts", head["conflicts"])
cols[2].metric("Abusive clients", head["abusive"])
cols[3].metric("Excluded windows", head["excluded"])
cols[4].metric("Needs throttling next week", head["flags"])
st.caption(
    "Every suggestion was replayed through an Apigee-faithful SpikeArrest/Quota simulator; "
    "none may reject more than 0.1% of healthy legitimate requests."
)

st.subheader("Suggestions")
table = views.suggestions_table(report)
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={"legit rejected": st.column_config.NumberColumn(format="percent")},
)
for s in report.suggestions:
    if s.conflict:
        st.warning(f"**{s.target}** — {s.conflict}")
for a in report.abusive:
    st.error(f"Abusive client **{a.app}** (`{a.client_id}`) on {a.proxy}: {'; '.join(a.reasons)}")
for r in report.retry_storms:
    st.info(f"Retries without backoff — **{r.app}** on {r.proxy}: {r.advice}")

st.subheader("Per proxy: traffic, limits and what replay would have rejected")
left, right = st.columns([3, 1])
proxy = left.selectbox("Proxy", views.proxies(report), key="throttling_proxy")
resolution = right.selectbox("Resolution", list(views.RESOLUTIONS), index=1, key="throttling_res")
chart = views.proxy_chart(report, proxy, views.RESOLUTIONS[resolution]) if proxy else None
if chart is not None and not chart.empty:
    lines = (
        alt.Chart(chart[chart["series"] != "rejected by replay"])
        .mark_line()
        .encode(
            x=alt.X("time:T", title=None),
            y=alt.Y("rpm:Q", title="requests / min"),
            color=alt.Color("series:N", title=None),
            strokeDash=alt.StrokeDash("series:N", legend=None),
            tooltip=["time:T", "series:N", alt.Tooltip("rpm:Q", format=",.0f")],
        )
    )
    bars = (
        alt.Chart(chart[chart["series"] == "rejected by replay"])
        .mark_bar(color="crimson", opacity=0.6)
        .encode(x="time:T", y="rpm:Q", tooltip=["time:T", alt.Tooltip("rpm:Q", title="rejected")])
    )
    st.altair_chart(alt.layer(bars, lines).properties(height=300), width="stretch")
    chosen = report.suggestion("spike_arrest", proxy)
    if chosen is not None:
        with st.expander(f"Evidence for {proxy}: {chosen.value_text()}"):
            st.write(chosen.rationale)
            doc = chosen.to_dict()
            st.caption("Evidence")
            st.dataframe(labelled_rows(doc.get("evidence") or {}), hide_index=True, width="stretch")
            st.caption("Replay of the suggested limit over the logs")
            st.dataframe(labelled_rows(doc.get("replay") or {}), hide_index=True, width="stretch")

st.subheader("Forecast: next week's busiest minute per hour")
st.dataframe(views.forecast_table(report), hide_index=True, width="stretch")
st.caption(
    "Next week's peak with its interval (log-normal from the week-ahead backtest's errors); "
    "'needs throttling' is decided on p90 against the knee's lower bound or the current limit."
)
st.dataframe(forecast_intervals(report), hide_index=True, width="stretch")
label = st.selectbox("Series", views.forecast_targets(report), key="forecast_target")
if label:
    series = views.forecast_chart(report, label)
    line = (
        alt.Chart(series)
        .mark_line()
        .encode(
            x=alt.X("time:T", title=None),
            y=alt.Y("rpm:Q", title="busiest minute (req/min)"),
            color=alt.Color("part:N", title=None),
            tooltip=["time:T", "part:N", alt.Tooltip("rpm:Q", format=",.1f")],
        )
    )
    ahead = series[series["part"] == "next week"]
    shade = (
        alt.Chart(ahead.agg(start=("time", "min"), end=("time", "max")))
        .mark_rect(opacity=0.12, color="orange")
        .encode(x="start:T", x2="end:T")
    )
    band = forecast_band(report, label)
    p50_p90 = (
        alt.Chart(band)
        .mark_rect(opacity=0.25, color="crimson")
        .encode(x="start:T", x2="end:T", y="p50:Q", y2="p90:Q", tooltip=["p50:Q", "p90:Q", "p99:Q"])
    )
    p99 = (
        alt.Chart(band)
        .mark_rule(strokeDash=[4, 4], color="crimson")
        .encode(x="start:T", x2="end:T", y="p99:Q")
    )
    layers = alt.layer(shade, p50_p90, p99, line).properties(height=260)
    st.altair_chart(layers, width="stretch")
    st.caption("Band: next week's peak, p50 to p90; dashed: p99.")

if report.retry_storms:
    st.subheader("Retries without backoff")
    st.dataframe(retry_storms(report), hide_index=True, width="stretch")

st.subheader("Excluded from the statistics")
st.dataframe(views.excluded_table(report), hide_index=True, width="stretch")

st.subheader("Policy XML")
st.download_button(
    "Download the proxy bundles (zip)",
    data=views.policies_zip(report),
    file_name="atc-throttling-bundles.zip",
    mime="application/zip",
    key="download_bundles",
)
if proxy:
    with st.expander(f"{proxy}: policies and steps"):
        for name, text in views.policy_files(report, proxy).items():
            st.caption(name)
            st.code(text, language="xml")
