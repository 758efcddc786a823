"""Traffic: what the gateway saw, per proxy, app and endpoint.

The analysis is read once per source (cached); the proxy filter and the
resolution only change the view, so they live in a fragment: changing them
reruns the fragment, not the page.
"""

from __future__ import annotations

import streamlit as st

from app_pages._data import analysis_for, table
from copilot.dashboard import traffic as views
from copilot.dashboard.charts import traffic_chart
from copilot.dashboard.fmt import share, utc_range

st.title("Traffic")
run = analysis_for()
if run is None:
    st.stop()
analysis = run.analysis
all_proxies = [g.key["proxy"] for g in analysis.proxies]
st.caption(
    f"{run.quarantine.records:,} records read, {run.quarantine.rejected:,} lines rejected; "
    f"{utc_range(analysis.start, analysis.end)}. All times are UTC."
)


@st.fragment
def traffic_view() -> None:
    left, right = st.columns([3, 1])
    chosen = left.multiselect(
        "Proxies", all_proxies, default=all_proxies, key="traffic_proxies",
        help="Every number, chart and table below counts only these proxies.",
    )  # fmt: skip
    resolution = right.selectbox(
        "Resolution", list(views.RESOLUTIONS), index=1, key="traffic_resolution"
    )
    chosen = chosen or all_proxies
    head = views.summary(run, chosen)
    cols = st.columns(5)
    cols[0].metric("Requests", f"{head['requests']:,}", help="Requests to the chosen proxies.")
    cols[1].metric("Proxies / apps", f"{head['proxies']} / {head['apps']}")
    cols[2].metric("5xx rate", share(head["rate_5xx"], 2), help="Share answered 5xx.")
    cols[3].metric("Gateway 429s", f"{head['gateway_429']:,}", help="Refused by Apigee limits.")
    cols[4].metric("Anomalies", head["anomalies"])

    series = views.traffic_series(analysis, chosen, views.RESOLUTIONS[resolution])
    anomalies = views.anomaly_table(analysis, chosen)
    st.subheader(f"Requests per {resolution}")
    st.caption("Lines: one per proxy. Shaded: anomaly windows (hover for what drove them).")
    st.altair_chart(traffic_chart(series, anomalies, "requests", "requests"), width="stretch")
    a, b = st.columns(2)
    with a:
        st.subheader("5xx share")
        st.altair_chart(traffic_chart(series, anomalies, "rate_5xx", "5xx", ".1%"), width="stretch")
    with b:
        st.subheader("p95 latency (worst minute, ms)")
        st.altair_chart(traffic_chart(series, anomalies, "p95_ms", "ms"), width="stretch")

    st.subheader("Anomalies")
    if anomalies.empty:
        st.caption("No anomaly on the chosen proxies.")
    else:
        table(anomalies, "anomalies", key="traffic_anomalies")
    tabs = st.tabs(["Proxies", "Apps", "Endpoints"])
    for tab, kind in zip(tabs, ("proxies", "consumers", "endpoints"), strict=True):
        with tab:
            table(views.group_table(views.groups_on(analysis, kind, chosen)), "groups")


traffic_view()
if run.quarantine.rejected:
    with st.expander(f"Rejected lines ({run.quarantine.rejected:,}; the first are shown)"):
        st.caption(f"By kind: {views.rejected_kinds(run)}.")
        table(views.rejected_table(run), "rejected")
