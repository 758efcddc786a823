"""Status: is each part of atc up — Temporal, workers, schedules, gateway, LLM endpoint, bridge."""

from __future__ import annotations

import streamlit as st

from app_pages._data import table
from app_pages._status_data import estate, settings, status_doc
from copilot.dashboard import status as view
from copilot.estate.status import PROBE_TIMEOUT_S

st.title("Status")
current = settings()
st.caption(
    f"Each part is probed once ({PROBE_TIMEOUT_S:g} s at most each); press Refresh to probe again."
)
if st.button("Refresh", key="status_refresh"):
    status_doc.clear()
doc = status_doc(str(current.data_dir))
frame = view.status_table(doc)
down = frame[frame["state"] == view.DOWN]
cols = st.columns(3)
cols[0].metric("Parts up", f"{(frame['state'] == view.UP).sum()} of {len(frame)}")
cols[1].metric("Temporal namespace", doc["temporal"]["namespace"])
cols[2].metric("Schedules", len((doc.get("schedules") or {}).get("items") or []))
if not doc["temporal"].get("up"):
    st.warning(
        f"Temporal is not reachable at {doc['temporal']['address']}; "
        "start it and the workers with `make run`, then press Refresh."
    )
ui = view.temporal_ui(doc, estate(str(current.data_dir)))
if ui:
    st.markdown(f"Temporal UI: [{ui}]({ui})")
st.subheader("Parts")
table(frame, "status", key="status_parts")
if doc["bridge"].get("configured"):
    st.subheader("Latest starts through the bridge")
    starts = view.bridge_starts_table(doc)
    if starts.empty:
        st.caption("No start through the bridge in this namespace yet (or Temporal is down).")
    else:
        table(starts, "runs", key="status_bridge_starts")
st.subheader("Schedules and their next run (UTC)")
schedules = view.schedules_table(doc)
if schedules.empty:
    st.caption("No schedule on Temporal (or Temporal is not reachable).")
else:
    table(schedules, "reports", key="status_schedules")
