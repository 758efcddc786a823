"""Throttling: SpikeArrest and Quota suggestions with findings, evidence, replay, forecast and XML.

The advice is computed once per (source, headroom, bundle) and shared with
Overview. The proxy filter only changes the view, so it lives in a fragment:
changing it reruns the fragment, not the page, and it applies to every number.
"""

from __future__ import annotations

import streamlit as st

from app_pages._source import advice_options, current_source
from app_pages._throttling_data import advice_for, show
from copilot.dashboard import advice
from copilot.dashboard import throttling as view
from copilot.dashboard import throttling_views as views
from copilot.dashboard.charts import forecast_chart, replay_chart
from copilot.dashboard.fmt import utc_range
from copilot.throttling.options import REJECT_SHARE

st.title("Throttling")
source = current_source()
headroom, bundle = advice_options()
run = advice_for(source, headroom, bundle)
if run is None:
    st.stop()
report = run.report
st.caption(
    f"{run.quarantine.records:,} records, {utc_range(report.start, report.end)}; headroom "
    f"× {headroom:g}; current limits {'from the bundle given' if bundle else 'from the logs only'}. "
    "All times are UTC. Every suggestion was replayed through an Apigee-faithful "
    f"SpikeArrest/Quota simulator; none may reject more than {REJECT_SHARE:.1%} of healthy "
    "legitimate requests."
)


def _limits(chosen: list[str]) -> None:
    st.subheader("Suggestions")
    show(view.suggestions(report, chosen), "suggestions", key="t_sugg", percent=("legit rejected",))
    st.caption(view.CURRENT_NOTE)
    st.subheader("Per proxy: demand, limits and what the suggested limit would have rejected")
    left, right = st.columns([3, 1])
    proxy = left.selectbox("Proxy", advice.in_chosen(report, chosen), key="throttling_proxy")
    resolution = right.selectbox(
        "Resolution", list(views.RESOLUTIONS), index=1, key="throttling_res"
    )
    frame = views.proxy_chart(report, proxy, views.RESOLUTIONS[resolution]) if proxy else None
    if frame is None or frame.empty:
        return
    st.altair_chart(replay_chart(frame), width="stretch")
    st.caption(
        f"Blue: legitimate demand, the busiest minute of each {resolution}. Dashed: the suggested "
        "limit and, when a bundle is given, the current one. Red bars: requests the suggested "
        "limit would have refused (busiest minute of each bucket)."
    )
    chosen_s = report.suggestion("spike_arrest", proxy)
    if chosen_s is not None:
        st.markdown(f"**{proxy}: {view.suggested_text(chosen_s)}** — {view.rationale(chosen_s)}")
        a, b = st.columns(2)
        with a:
            st.caption("Evidence")
            show(advice.evidence(chosen_s), "evidence", key="t_evidence")
        with b:
            st.caption("Replay of the suggested limit over the logs")
            show(advice.replay(chosen_s), "evidence", key="t_replay")


def _forecast(chosen: list[str]) -> None:
    st.subheader("Forecast: next week's busiest minute")
    show(view.forecast(report, chosen), "forecast", key="t_forecast")
    st.caption(
        "Interval from the week-ahead backtest's errors (log-normal); a series is flagged when its "
        "p90 passes the knee's lower bound or the current limit."
    )
    label = st.selectbox("Series", view.forecast_targets(report, chosen), key="forecast_target")
    if label:
        chart = forecast_chart(
            views.forecast_chart(report, label), view.forecast_band(report, label)
        )
        st.altair_chart(chart, width="stretch")
        st.caption(
            "Busiest minute of each hour: blue the logs, orange the forecast path for next week; "
            "shaded: next week's peak from p50 to p90; dashed red: its p99."
        )


@st.fragment
def throttling_view() -> None:
    every = views.proxies(report)
    chosen = st.multiselect(
        "Proxies", every, default=every, key="throttling_proxies",
        help="Every number, table and chart below counts only these proxies.",
    ) or every  # fmt: skip
    head = view.headline(report, chosen)
    cols = st.columns(5)
    cols[0].metric("Suggestions", head["suggestions"], help="Limits suggested on these proxies.")
    cols[1].metric("Capacity conflicts", head["conflicts"], help="Where the backend's knee is "
                   "below legitimate demand: add capacity, a limit cannot help.")  # fmt: skip
    cols[2].metric("Abusive clients", head["abusive"], help="Apps behaving unlike their cohort.")
    cols[3].metric("Excluded windows", head["excluded"], help="Incidents, attacks, abusive runs.")
    cols[4].metric("Needs throttling next week", head["flags"], help="Forecast flags (p90).")
    st.subheader("What needs attention")
    found = advice.findings(report, chosen)
    for f in found:
        getattr(st, f.level)(f.text)
    if not found:
        st.success("Nothing needs attention on these proxies.")
    _limits(chosen)
    replays = view.current_replays(report, chosen)
    if not replays.empty:
        st.subheader("Current limits replayed")
        show(replays, "current_replays", key="t_current", percent=("legit rejected",))
        st.caption(
            "Each limit of the given bundle replayed over the logs where its conditions hold."
        )
    _forecast(chosen)
    storms = view.retry_storms(report, chosen)
    if not storms.empty:
        st.subheader("Retries without backoff")
        show(storms, "retry_storms", key="t_storms")
    st.subheader("Excluded from the statistics")
    show(view.excluded(report, chosen), "excluded", key="t_excluded")
    st.caption(
        "Windows left out of the demand statistics and forecasts; their requests still replay."
    )


throttling_view()
st.subheader("Policy XML")
st.download_button(
    "Download the proxy bundles (zip)",
    data=views.policies_zip(report),
    file_name="atc-throttling-bundles.zip",
    mime="application/zip",
    key="download_bundles",
)
for name in views.proxies(report):
    with st.expander(f"{name}: policies and steps"):
        for file, text in views.policy_files(report, name).items():
            st.caption(file)
            st.code(text, language="xml")
