"""Traffic overview: what the gateway saw, per proxy, app and endpoint."""

from __future__ import annotations

import altair as alt
import streamlit as st

from app_pages._data import analysis_for
from app_pages._source import choose_logs
from copilot import views

st.title("Traffic")
paths, fmt = choose_logs()
run = analysis_for(paths, fmt)
if run is None:
    st.stop()
analysis = run.analysis
head = views.summary(run)

cols = st.columns(6)
cols[0].metric("Records", f"{head['records']:,}")
cols[1].metric("Rejected lines", f"{head['rejected']:,}")
cols[2].metric("Proxies / apps", f"{head['proxies']} / {head['apps']}")
cols[3].metric("5xx rate", f"{head['rate_5xx']:.2%}")
cols[4].metric("Gateway 429s", f"{head['gateway_429']:,}")
cols[5].metric("Anomalies", head["anomalies"])
st.caption(f"{head['start']:%Y-%m-%d %H:%M} → {head['end']:%Y-%m-%d %H:%M} UTC")

all_proxies = [g.key["proxy"] for g in analysis.proxies]
left, right = st.columns([3, 1])
chosen = left.multiselect("Proxies", all_proxies, default=all_proxies, key="traffic_proxies")
resolution = right.selectbox(
    "Resolution", list(views.RESOLUTIONS), index=1, key="traffic_resolution"
)
series = views.traffic_series(analysis, chosen, views.RESOLUTIONS[resolution])
anomalies = views.anomaly_table(analysis, chosen)


def _chart(field: str, title: str, metric: str, fmt: str = "") -> alt.LayerChart:
    lines = (
        alt.Chart(series)
        .mark_line()
        .encode(
            x=alt.X("time:T", title=None),
            y=alt.Y(f"{field}:Q", title=title, axis=alt.Axis(format=fmt) if fmt else alt.Axis()),
            color="proxy:N",
            tooltip=["time:T", "proxy:N", alt.Tooltip(f"{field}:Q", format=fmt or ",.1f")],
        )
    )
    windows = (
        alt.Chart(anomalies)
        .mark_rect(opacity=0.15, color="red")
        .encode(
            x="start:T",
            x2="end:T",
            tooltip=["proxy:N", "metric:N", "start:T", "end:T", "driven by:N"],
        )
    )
    return alt.layer(windows, lines).properties(height=260)


st.subheader("Requests per bucket")
st.caption("Shaded: anomaly windows of the metric in each chart.")
st.altair_chart(_chart("requests", "requests", "requests"), width="stretch")
a, b = st.columns(2)
with a:
    st.subheader("5xx share")
    st.altair_chart(_chart("rate_5xx", "5xx", "error_rate", ".1%"), width="stretch")
with b:
    st.subheader("p95 latency (worst minute, ms)")
    st.altair_chart(_chart("p95_ms", "ms", "latency_p95"), width="stretch")

st.subheader("Anomalies")
st.dataframe(anomalies, hide_index=True, width="stretch")
tabs = st.tabs(["Proxies", "Apps", "Endpoints"])
tabs[0].dataframe(views.group_table(analysis.proxies), hide_index=True, width="stretch")
tabs[1].dataframe(views.group_table(analysis.apps), hide_index=True, width="stretch")
tabs[2].dataframe(views.group_table(analysis.endpoints), hide_index=True, width="stretch")
if head["rejected"]:
    with st.expander(f"Rejected lines ({head['rejected']:,}; first shown)"):
        st.dataframe(views.rejected_table(run), hide_index=True, width="stretch")
