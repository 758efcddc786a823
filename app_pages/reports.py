"""Reports: delivered reports (open one in the page), their schedules, schedule one, run one now."""

from __future__ import annotations

import streamlit as st
import streamlit.components.v1 as components

from app_pages import _reports_data as data
from app_pages._data import table
from app_pages._status_data import settings, temporal_down
from copilot.dashboard import reports as view
from copilot.dashboard.errors import say
from copilot.errors import AtcError
from copilot.reports.options import FORMATS, SUGGESTED_EVERY

st.title("Reports")
st.caption(
    "A report reads the log files new since its last run and writes HTML, Markdown and CSV; "
    "schedules run on Temporal (times in UTC)."
)
current = settings()

st.subheader("Delivered reports")
copies = data.delivered()
if not copies:
    st.info("No report delivered yet: schedule one below, or press Run now on an existing one.")
else:
    table(view.delivered_table(copies), "reports", key="reports_delivered")
    labels = {c.label: c for c in copies}
    picked = labels[st.selectbox("Open", list(labels), key="reports_open")]
    html = picked.html()
    if html is None:
        st.caption("This copy has no HTML file (its formats were Markdown or CSV only).")
    else:
        components.html(html, height=720, scrolling=True)

problem = temporal_down("report schedules")
st.subheader("Schedules")
if problem:
    st.warning(problem)
    st.stop()
rows = data.schedules(current.temporal_address)
if rows:
    table(view.schedules_table(rows), "reports", key="reports_schedules")
    left, right = st.columns([3, 1])
    name = left.selectbox("Report", [r["name"] for r in rows], key="reports_run_name")
    if right.button("Run now", key="reports_run_now", type="primary"):
        with st.spinner(f"Running {name}…"):
            try:
                done = view.run_now(current, name, wait=True)
                st.success(
                    f"{name}: {done.get('status', 'done')}, {done.get('records', 0):,} records."
                )
                data.schedules.clear()
            except AtcError as exc:
                st.error(say(exc))
else:
    st.caption("No report schedule yet.")

with st.expander("Schedule a report", expanded=not rows), st.form("reports_schedule"):
    name = st.text_input("Name", key="reports_name", help="Letters, digits, - and _.")
    logs = st.text_input("Log folder or glob", key="reports_logs", help="Where new log files land.")
    how = st.radio("When", ["every", "cron (UTC)"], horizontal=True, key="reports_how")
    when = st.text_input(f"Interval (e.g. {SUGGESTED_EVERY}) or cron expression (e.g. 0 6 * * 1)",
                         value=SUGGESTED_EVERY, key="reports_when")  # fmt: skip
    formats = st.multiselect("Formats", list(FORMATS), default=list(FORMATS),
                             key="reports_formats")  # fmt: skip
    webhook = st.text_input("Webhook (optional)", key="reports_webhook")
    if st.form_submit_button("Save schedule"):
        every, cron = (when, None) if how == "every" else (None, when)
        try:
            view.schedule(current, name, logs, cron, every, formats, webhook or None)
            data.schedules.clear()
            st.success(f"Scheduled {name}.")
        except AtcError as exc:
            st.error(say(exc))
