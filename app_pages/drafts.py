"""Drafts: ask for a workflow in words (or pick a pattern mined from logs), review it, decide.

A thin page over copilot.drafting. Generation runs the planner, the rules,
the trusted renderer and a dry run on the Temporal test server (in a child
process); review shows the spec as steps, the flow, the code (read-only),
which scope allows each call, the findings, the dry-run trace and the
version history. People change a draft by editing its spec (tables or JSON),
never its code. Log text and model text are shown as data (tables, code,
JSON), never as markdown.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages import _drafts_data as data
from app_pages import _drafts_editor as editor_ui
from app_pages import _drafts_review as review_ui
from copilot.errors import AtcError
from copilot.scopes import DEFAULT_PRODUCTS

DEFAULT_SCOPES = ["orders.read", "orders.write", "fulfilment.write", "notifications.send"]

st.title("Drafts")
st.caption(
    "Workflow drafts that can call only what their scopes allow: planned as a WorkflowSpec, "
    "rendered by a trusted renderer, validated, dry-run on the Temporal test server, reviewed here."
)

products = st.text_input("API product file", value=str(DEFAULT_PRODUCTS), key="drafts_products")
try:
    catalog = data.catalog(products)
except AtcError as exc:
    st.error(exc.line())
    st.stop()
reviewer = review_ui.identity()

st.subheader("New draft")
source = st.radio(
    "Start from",
    ["A request in words", "A pattern mined from the logs"],
    horizontal=True,
    key="drafts_source",
)
context_logs = None
if source == "A pattern mined from the logs":
    logs = st.text_input("Log file", value=data.sample_logs(), key="drafts_logs")
    try:
        ideas = data.suggestions(logs, products)
    except AtcError as exc:
        st.error(exc.line())
        ideas = []
    if ideas:
        labels = [f"{i + 1}. {s['title']}" for i, s in enumerate(ideas)]
        pick = st.selectbox(
            "Mined suggestion", range(len(ideas)), format_func=labels.__getitem__, key="drafts_idea"
        )
        idea = ideas[pick]
        if st.session_state.get("drafts_idea_used") != (logs, pick):
            # Fill the request once per pick, so the user's own edits survive reruns.
            st.session_state["drafts_idea_used"] = (logs, pick)
            st.session_state["drafts_request"] = idea["request"]
            st.session_state["drafts_scopes"] = [s for s in idea["scopes"] if s in catalog.scopes]
        context_logs = logs
        with st.expander("Evidence from the logs (quoted data)"):
            st.json(idea["evidence"])
    else:
        st.info("No polling loops, retry storms or recurring call chains found in these logs.")
request = st.text_area(
    "What should the workflow do?",
    key="drafts_request",
    placeholder="When an order over 10,000 is created, hold it for a manager's approval…",
)
if "drafts_scopes" not in st.session_state:
    st.session_state["drafts_scopes"] = [s for s in DEFAULT_SCOPES if s in catalog.scopes]
scopes = st.multiselect("Granted scopes", catalog.scopes, key="drafts_scopes")
if st.button(
    "Generate draft", type="primary", key="drafts_generate", disabled=not (request or "").strip()
):
    try:
        with st.spinner("Planning, validating and dry-running…"):
            doc = data.generate(request, scopes, products, reviewer.name, context_logs)
        # The review below is drawn later in this run: pointing its selectors at the new
        # draft and version now shows what was just produced, not the one before.
        st.session_state["drafts_pick"] = doc["draft_id"]
        st.session_state[f"drafts_version_{doc['draft_id']}"] = doc["version"]
        review_ui.forget_pending()
        (st.success if doc["valid"] else st.error)(
            f"Draft {doc['draft_id']}: {'valid' if doc['valid'] else 'rejected'} "
            f"({doc['llm']['planner']} planner; validation {doc['timings_s'].get('validation', 0):.2f} s)"
        )
        for note in doc["notes"]:
            st.caption(note)
    except AtcError as exc:
        st.error(exc.line())

st.subheader("Review")
review_ui.show_flash()
store = data.store()
drafts = store.list()
if not drafts:
    st.info("No drafts yet: generate one above.")
    st.stop()
ids = [d["id"] for d in drafts]
names = {
    d["id"]: f"{d['id']} · {data.status_word(d['status'])} · {d['name'] or '(no name)'}"
    for d in drafts
}
draft_id = review_ui.pick("Draft", ids, names.__getitem__, "drafts_pick", ids[0])
draft = store.get(draft_id)
numbers = [v["version"] for v in draft["versions"]]
shown_key = f"drafts_version_{draft_id}"
pending = st.session_state.pop("drafts_show_version", None)
if pending and pending[0] == draft_id and pending[1] in numbers:
    st.session_state[shown_key] = pending[1]  # a saved edit: show the version it made
number = review_ui.pick(
    "Version", numbers, lambda n: data.version_label(draft, n), shown_key, numbers[-1]
)
version = next(v for v in draft["versions"] if v["version"] == number)
version = {**store.version(draft_id, number), "status": version["status"]}
status = {"approved": st.success, "rejected": st.error}.get(draft["status"], st.info)
status(
    f"Status: {data.status_word(draft['status'])}"
    + (f" (version {draft['approved_version']})" if draft["approved_version"] else "")
)
st.text(f"Version {number}: {version['status']}")
decided = data.decision_line(draft)
if decided:
    st.text(decided[0].upper() + decided[1:])
st.text(f"Request: {draft['request']}")
st.caption(
    f"Scopes: {', '.join(draft['scopes'])} · planner {version['planner']} · model {version['model'] or '-'}"
    f" · attempts {version['attempts']} · tokens {version['prompt_tokens']}/{version['completion_tokens']}"
)

spec = data.spec_of(version)
clauses_tab, *tabs = st.tabs(
    ["Request → steps", "Steps", "Flow", "Code", "Scopes", "Findings", "Dry run", "History"]
)
with clauses_tab:
    st.caption(
        "Each clause of the request beside the step that does it. A repeat, wait, condition, "
        "approval or retry with no step is a WF011 finding: such a draft is not valid."
    )
    st.dataframe(
        pd.DataFrame(data.clause_rows(draft["request"], version, catalog)),
        hide_index=True,
        width="stretch",
    )
with tabs[0]:
    if spec is not None:
        st.dataframe(pd.DataFrame(data.step_rows(spec)), hide_index=True, width="stretch")
    else:
        st.warning("The planner's answer is not a valid WorkflowSpec; see Findings.")
        st.code(version["spec_json"] or "", language="json")
with tabs[1]:
    if spec is not None:
        st.graphviz_chart(data.dot(spec))
with tabs[2]:
    st.caption(
        "Read-only: atc renders this code from the spec with its trusted renderer; change the "
        "spec to change it. Custom code belongs in your team's own repository and code review, "
        "not in atc."
    )
    if version["code"]:
        st.code(version["code"], language="python")
    else:
        st.info("Nothing was rendered: the spec failed validation.")
with tabs[3]:
    if spec is not None:
        st.dataframe(
            pd.DataFrame(data.scope_rows(spec, catalog, draft["scopes"])),
            hide_index=True,
            width="stretch",
        )
with tabs[4]:
    if version["findings"]:
        st.dataframe(
            pd.DataFrame(version["findings"]),
            hide_index=True,
            width="stretch",
        )
    else:
        st.success("Every rule passed.")
with tabs[5]:
    dry = version["dry_run"]
    if not dry:
        st.info("No dry run for this version (it failed the rules first).")
    else:
        for scenario in dry["scenarios"]:
            done = "completed" if scenario.get("completed") else f"failed: {scenario.get('error')}"
            st.text(f"{scenario['name']}: {' -> '.join(scenario.get('path', []))} ({done})")
            calls = [
                {k: c.get(k) for k in ("step", "operation", "method", "url", "status", "error")}
                for c in scenario.get("calls", [])
            ]
            if calls:
                st.dataframe(pd.DataFrame(calls), hide_index=True, width="stretch")
        branches = data.branch_rows(dry)
        if branches:
            st.caption("Branches: the scenarios that took each side")
            st.dataframe(pd.DataFrame(branches), hide_index=True, width="stretch")
with tabs[6]:
    st.dataframe(
        pd.DataFrame(draft["versions"])[
            ["version", "status", "created_at", "author", "source", "valid", "planner"]
        ],
        hide_index=True,
        width="stretch",
    )
    st.dataframe(pd.DataFrame(draft["audit"]), hide_index=True, width="stretch")
    st.code(version["diff"] or "(first version: no diff)", language="diff")

st.subheader("Edit the spec")
if number == numbers[-1]:
    editor_ui.spec_editor(draft, version, catalog, reviewer)
else:
    st.info(f"Edits start from the latest version ({numbers[-1]}); select it to edit.")

st.subheader("Decide")
review_ui.decision_form(draft, version, reviewer, data.approval_summary(draft, version, catalog))
