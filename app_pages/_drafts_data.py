"""Cached calls into copilot.drafting for the Drafts page (no business logic here).

Drafted code is never imported in the dashboard's process: validation and
dry runs load it only in child processes (copilot.drafting.sandbox/dryrun).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from copilot.config import load_settings
from copilot.drafting.diagram import to_dot
from copilot.drafting.service import DraftJob, edit_draft, run_draft
from copilot.drafting.spec import WorkflowSpec
from copilot.drafting.store import DraftStore
from copilot.scopes import Catalog, check_operation, load_catalog


def _stamp(path: str) -> int:
    file = Path(path)
    return file.stat().st_mtime_ns if file.is_file() else 0


@st.cache_resource(show_spinner=False)
def _store(data_dir: str) -> DraftStore:
    return DraftStore.in_data_dir(data_dir)


def store() -> DraftStore:
    """The draft store under the configured data directory."""
    return _store(str(load_settings().data_dir))


@st.cache_resource(show_spinner=False)
def _catalog(path: str, stamp: int) -> Catalog:
    return load_catalog(path)


def catalog(path: str) -> Catalog:
    return _catalog(path, _stamp(path))


@st.cache_data(show_spinner="Mining the logs for workflow ideas…", max_entries=4)
def _suggestions(log_path: str, products: str, stamp: tuple[int, int]) -> list[dict[str, Any]]:
    from copilot.drafting.mining import mine_paths

    return [s.to_dict() for s in mine_paths([log_path], load_catalog(products))]


def suggestions(log_path: str, products: str) -> list[dict[str, Any]]:
    """Workflow ideas mined from a log file (cached on path and mtime)."""
    return _suggestions(log_path, products, (_stamp(log_path), _stamp(products)))


def sample_logs() -> str:
    return str(load_settings().sample_path)


def generate(
    request: str, scopes: list[str], products: str, actor: str, context_logs: str | None
) -> dict[str, Any]:
    """Plan, validate, dry-run and store a draft (the dry run runs in a child process)."""
    logs = [Path(context_logs)] if context_logs else []
    job = DraftJob(
        request=request, scopes=scopes, products=products, logs=logs, actor=actor or "dashboard"
    )
    return run_draft(job)


def edit(draft_id: str, code: str, actor: str) -> tuple[int, list, bool]:
    return edit_draft(store(), draft_id, code, actor or "dashboard")


def spec_of(version: dict[str, Any]) -> WorkflowSpec | None:
    try:
        return (
            WorkflowSpec.model_validate_json(version["spec_json"])
            if version.get("spec_json")
            else None
        )
    except ValueError:
        return None


def dot(spec: WorkflowSpec) -> str:
    return to_dot(spec)


def step_rows(spec: WorkflowSpec) -> list[dict[str, Any]]:
    """The spec as a table of steps."""
    rows = []
    for step in spec.steps:
        what = getattr(step, "operation", None) or {
            "approval": lambda s: (
                f"{s.approver}, {s.timeout_s} s, on timeout {s.on_timeout or 'reject'}"
            ),
            "sleep": lambda s: f"{s.duration_s} s",
            "branch": lambda s: f"{s.condition.left} {s.condition.op} {s.condition.right!r}",
            "parallel": lambda s: ", ".join(s.steps),
        }[step.kind](step)
        go = [getattr(step, k, None) for k in ("next", "if_true", "if_false", "on_reject")]
        rows.append(
            {
                "step": step.id,
                "kind": step.kind,
                "what": str(what),
                "timeout s": getattr(step, "timeout_s", None),
                "goes to": ", ".join(g for g in go if g),
            }
        )
    return rows


def scope_rows(spec: WorkflowSpec, cat: Catalog, scopes: list[str]) -> list[dict[str, Any]]:
    """Each call -> its method and path, and which granted scope allows it (or why not)."""
    rows = []
    for step in spec.operation_steps():
        decision = check_operation(cat, scopes, step.operation)
        op = decision.operation
        rows.append(
            {
                "step": step.id,
                "operation": step.operation,
                "method": op.method if op else "?",
                "path": op.full_template if op else "?",
                "allowed by": decision.scope or "DENIED",
                "reason": decision.reason,
            }
        )
    return rows
