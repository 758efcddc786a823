"""Runs: start an approved draft with its input form, watch it step by step, answer its approvals."""

from __future__ import annotations

import streamlit as st

from app_pages import _runs_data as data
from app_pages._data import table
from app_pages._status_data import settings, temporal_down
from copilot.dashboard import runs as view
from copilot.dashboard.errors import say
from copilot.errors import AtcError

st.title("Runs")
st.caption(
    "Only an approved draft version runs, re-verified against the hashes that were approved."
)
problem = temporal_down("runs")
if problem:
    st.warning(problem)
    st.stop()

items, refused = data.runnable()
for line in refused:
    st.warning(line)

st.subheader("Start a run")
if not items:
    st.info("No approved draft yet: approve one on the Drafts page, then start it here.")
else:
    labels = {i.label: i for i in items}
    chosen = labels[st.selectbox("Approved draft", list(labels), key="runs_draft")]
    with st.form("runs_start"):
        st.caption(f"Spec sha256 {chosen.spec_hash[:12]}…; its inputs:")
        given = {}
        for f in view.input_fields(chosen.spec):
            key = f"runs_input_{chosen.draft_id}_{f['name']}"
            label = f["label"] + ("" if f["required"] else " (optional)")
            if f["type"] == "boolean":
                given[f["name"]] = st.checkbox(
                    label, value=bool(f["default"]), help=f["help"], key=key
                )
            elif f["type"] in ("integer", "number"):
                cast = int if f["type"] == "integer" else float
                default = cast(f["default"] if f["default"] is not None else 0)
                step = cast(1 if f["type"] == "integer" else 0.01)
                value = st.number_input(label, value=default, step=step, help=f["help"], key=key)
                given[f["name"]] = int(value) if f["type"] == "integer" else float(value)
            else:
                given[f["name"]] = st.text_input(
                    label, value=str(f["default"] or ""), help=f["help"], key=key
                )
        if st.form_submit_button("Start run", type="primary"):
            try:
                started = data.start(chosen, given)
                st.session_state["runs_watch"] = started["run_id"]
                data.runs_list.clear()
                st.success(f"Started run {started['run_id']}.")
            except AtcError as exc:
                st.error(say(exc))

st.subheader("Runs")
rows = data.runs_list(settings().temporal_address)
if not rows:
    st.caption("No run yet.")
    st.stop()
table(view.runs_table(rows), "runs", key="runs_table")
ids = [r["run_id"] for r in rows]
current = st.session_state.get("runs_watch")
watch = st.selectbox(
    "Watch run", ids, index=ids.index(current) if current in ids else 0, key="runs_watch_pick"
)
st.session_state["runs_watch"] = watch
watched = next(r for r in rows if r["run_id"] == watch)
spec = next((i.spec for i in items if i.draft_id == watched["draft_id"]), None)
# Runs seen to end in this session: the list may lag behind (it is cached for a few seconds).
ended = st.session_state.setdefault("runs_ended", set())
every = None if watch in ended else view.refresh_every(watched["status"])


@st.fragment(run_every=every)
def watch_run() -> None:
    try:
        shown = data.show(watch)
    except AtcError as exc:
        st.error(say(exc))
        return
    if every is not None and view.refresh_every(shown["status"]) is None:
        # The run ended while watched: draw the page once more, the panel without a refresh.
        ended.add(watch)
        data.runs_list.clear()
        st.rerun()
    st.markdown(f"**{shown['status']}** — draft {shown['draft_id']} version {shown['version']}, "
                f"asked by {shown['requested_by']}")  # fmt: skip
    st.caption(
        "This run has ended; the panel no longer refreshes."
        if every is None
        else f"Refreshes every {every:g} s while the run goes on."
    )
    steps, calls = st.columns([1, 2])
    with steps:
        st.caption("Steps")
        table(view.steps_table(spec, shown), "run_calls", key="runs_steps")
    with calls:
        st.caption("Calls made (HTTP status from the gateway)")
        table(view.calls_table(shown), "run_calls", key="runs_calls")
    if shown.get("error"):
        st.error(f"The run stopped: {shown['error']}")
    waiting = view.pending_approval(shown)
    if waiting:
        st.warning(f"The run waits for a decision at step {waiting}.")
        comment = st.text_input("Comment", key=f"runs_comment_{watch}_{waiting}")
        a, r = st.columns(2)
        for col, outcome in ((a, "approve"), (r, "reject")):
            if col.button(outcome.capitalize(), key=f"runs_{outcome}_{watch}_{waiting}"):
                try:
                    data.decide(watch, waiting, outcome, comment)
                    st.success(f"{outcome.capitalize()}d step {waiting}.")
                except AtcError as exc:
                    st.error(say(exc))
    if shown.get("result") is not None:
        with st.expander("Result", expanded=shown["status"] == "COMPLETED"):
            for name, value in view.result_lines(shown["result"]):
                st.markdown(f"**{name}**: {value}")


watch_run()
