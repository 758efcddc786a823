"""The Drafts page's spec editor: steps and inputs as tables, the whole spec as JSON.

People edit the spec, never the code: saving hands the spec to the library,
which validates it, renders the code with the trusted renderer, runs the rules
and the dry run, and stores a new version.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app_pages import _drafts_data as data
from app_pages import _drafts_review as review_ui
from copilot.drafting import spec_edit
from copilot.drafting.review import Reviewer
from copilot.errors import AtcError
from copilot.scopes import Catalog

_WHOLE = ("timeout_s", "duration_s")
_HELP = {
    "id": "renaming a step here makes a new step; rename it in the JSON to keep its parameters",
    "operation": "only operations the draft's granted scopes allow",
    "next": 'a step id, or "end"',
}


def _step_columns(operations: list[str]) -> dict[str, Any]:
    config: dict[str, Any] = {
        "kind": st.column_config.SelectboxColumn("kind", options=spec_edit.kinds(), required=True),
        "operation": st.column_config.SelectboxColumn(
            "operation", options=operations, help=_HELP["operation"]
        ),
    }
    for column in spec_edit.step_columns():
        if column in config:
            continue
        options = sorted(
            {str(v) for k in spec_edit.kinds() for v in spec_edit.choices(k, column) or []}
        )
        if options:
            config[column] = st.column_config.SelectboxColumn(column, options=options)
        elif column.endswith("_s"):
            config[column] = st.column_config.NumberColumn(column, min_value=1, step=1)
        else:
            config[column] = st.column_config.TextColumn(column, help=_HELP.get(column))
    return config


def _input_columns() -> dict[str, Any]:
    return {
        "name": st.column_config.TextColumn("name", required=True),
        "type": st.column_config.SelectboxColumn("type", options=spec_edit.input_types()),
        "required": st.column_config.CheckboxColumn("required"),
        "default": st.column_config.TextColumn("default", help="as text; read as the input's type"),
        "example": st.column_config.TextColumn("example", help="used by the dry run"),
        "description": st.column_config.TextColumn("description"),
    }


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    for column in columns:
        if column not in _WHOLE and column != "required":
            frame[column] = frame[column].astype(object)
    return frame


def spec_editor(
    draft: dict[str, Any], latest: dict[str, Any], cat: Catalog, reviewer: Reviewer
) -> None:
    """Tables and JSON for the latest version; each save stores a new version."""
    spec = data.spec_doc(latest)
    key = f"{draft['id']}_{latest['version']}"
    if draft["status"] == "approved":
        st.warning(
            "Saving a new version withdraws this approval: the new version needs its own review."
        )
    if spec is None:
        st.info("This version's spec does not parse: fix it as JSON below.")
    else:
        st.caption("Steps (params, bodies, conditions, retries and polls are in the JSON below)")
        steps = st.data_editor(
            _frame(spec_edit.step_rows(spec), spec_edit.step_columns()),
            column_config=_step_columns(data.allowed_operations(cat, draft["scopes"])),
            num_rows="dynamic",
            hide_index=True,
            key=f"drafts_steps_{key}",
        )
        st.caption("Inputs")
        inputs = st.data_editor(
            _frame(spec_edit.input_rows(spec), spec_edit.INPUT_COLUMNS),
            column_config=_input_columns(),
            num_rows="dynamic",
            hide_index=True,
            key=f"drafts_inputs_{key}",
        )
        timeout = st.number_input(
            "Execution timeout (s)",
            min_value=1,
            step=1,
            value=spec.get("execution_timeout_s"),
            key=f"drafts_timeout_{key}",
        )
        if st.button("Save as a new version", type="primary", key="drafts_save_spec"):
            try:
                edited = spec_edit.apply_edits(
                    spec, data.records(steps), data.records(inputs), timeout
                )
            except AtcError as exc:
                st.error(review_ui.plain(exc.line()))
            else:
                _save(draft["id"], edited, reviewer)
    with st.expander("The whole spec as JSON (for what the tables do not cover)"):
        text = st.text_area(
            "Spec (JSON)", value=latest["spec_json"] or "", height=400, key=f"drafts_json_{key}"
        )
        if st.button("Save the JSON as a new version", key="drafts_save_json"):
            _save(draft["id"], text, reviewer)


def _save(draft_id: str, spec: str | dict[str, Any], reviewer: Reviewer) -> None:
    try:
        with st.spinner("Validating, rendering and dry-running the edited spec…"):
            outcome = data.save_spec(draft_id, spec, reviewer)
    except AtcError as exc:
        st.error(review_ui.plain(exc.line()))
        return
    findings = [f.to_dict() for f in outcome.findings]
    review_ui.flash(
        "success" if outcome.valid else "error",
        f"Version {outcome.version}: {'valid' if outcome.valid else 'rejected'}",
        findings,
    )
    st.session_state["drafts_show_version"] = (draft_id, outcome.version)
    st.rerun()
