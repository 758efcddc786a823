"""Overview: what needs attention now — anomalies, throttling findings, drafts waiting, failed runs."""

from __future__ import annotations

import streamlit as st

from app_pages._data import analysis_for, table
from app_pages._runs_data import runs_list, store
from app_pages._source import advice_options, current_source
from app_pages._status_data import settings, temporal_down
from app_pages._throttling_data import advice_for
from copilot.dashboard import overview as view
from copilot.dashboard.fmt import utc_range

st.title("Overview")
source = current_source()
headroom, bundle = advice_options()
# The advice is shared with the Throttling page (one computation for both); its pass over
# the logs also fills the Traffic analysis, so analysis_for below does not read them again.
advice = advice_for(source, headroom, bundle) if source.paths else None
if source.paths and advice is None and not bundle:
    st.stop()  # the logs cannot be read: advice_for said why
run = analysis_for(source)
if run is None:
    st.stop()
analysis = run.analysis
st.caption(f"{run.quarantine.records:,} records, {utc_range(analysis.start, analysis.end)}.")
drafts = store().list()
problem = temporal_down("failed runs")
runs = [] if problem else runs_list(settings().temporal_address)

anomalies = view.anomaly_rows(analysis)
throttling = view.throttling_rows(advice.report) if advice is not None else []
waiting = view.draft_rows(drafts)
failed = view.failed_run_rows(runs)
cols = st.columns(4)
cols[0].metric("Anomalies", len(analysis.anomalies), help="Anomaly windows in the traffic.")
cols[1].metric("Throttling findings", len(throttling), help="Abusive clients, conflicts, limits.")
cols[2].metric("Drafts waiting", len(waiting), help="Drafts with no review decision yet.")
cols[3].metric(
    "Failed runs", "–" if problem else len(failed), help="Runs that failed or timed out."
)
if problem:
    st.caption(problem)

st.subheader("Needs attention")
frame = view.attention_table(anomalies, throttling, waiting, failed)
if frame.empty:
    st.success("Nothing needs attention.")
else:
    table(frame, "attention", key="overview_attention", max_rows=30)
st.caption("Open the page named in each row from the navigation on the left for the details.")
