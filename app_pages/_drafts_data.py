"""Cached calls into copilot.drafting for the Drafts page (no business logic here).

Drafted code is never imported in the dashboard's process: validation and
dry runs load it only in child processes (copilot.drafting.sandbox/dryrun).
People change a draft only through its spec; atc renders the code again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from copilot.config import load_settings
from copilot.drafting import review
from copilot.drafting.diagram import to_dot
from copilot.drafting.review import Reviewer
from copilot.drafting.service import DraftJob, EditOutcome, edit_spec, run_draft
from copilot.drafting.spec import WorkflowSpec
from copilot.drafting.store import DraftStore
from copilot.errors import InputError
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


def save_spec(draft_id: str, spec: str | dict[str, Any], reviewer: Reviewer) -> EditOutcome:
    """Store an edited spec as a new version (rendered, checked and dry-run by the library)."""
    if not reviewer.name:
        raise InputError("enter your name first: every new version names its author")
    return edit_spec(store(), draft_id, spec, reviewer.name, verified=reviewer.verified)


def decide(
    draft_id: str,
    action: str,
    number: int,
    spec_hash: str,
    reviewer: Reviewer,
    comment: str,
    *,
    change: bool = False,
) -> dict[str, Any]:
    """Approve or reject the version the reviewer saw, named by its number and spec hash.

    The same path as ``atc drafts approve/reject``: the draft's review workflow
    when it has one, else the store's compare-and-set. ``change`` reverses the
    draft's decision (with its own comment).
    """
    return review.decide(
        draft_id,
        action,
        version=number,
        spec_hash=spec_hash,
        reviewer=reviewer,
        comment=comment,
        change=change,
    )


# The store's word for an undecided draft, in the page's words.
STATUS_WORDS = {"draft": "awaiting review"}


def status_word(status: str) -> str:
    return STATUS_WORDS.get(status, status)


def version_label(draft: dict[str, Any], number: int) -> str:
    """'2 · failed validation' for the Version selector."""
    version = next(v for v in draft["versions"] if v["version"] == number)
    return f"{number} · {version['status']}"


def approval_summary(draft: dict[str, Any], version: dict[str, Any], cat: Catalog) -> str:
    """Exactly what approving ``version`` approves: draft, version, hash, scopes, operations."""
    spec = spec_of(version)
    rows = scope_rows(spec, cat, draft["scopes"]) if spec is not None else []
    calls = ", ".join(f"{r['operation']} ({r['method']} {r['path']})" for r in rows) or "nothing"
    return (
        f"Approve draft {draft['id']} version {version['version']} "
        f"(spec sha256 {version['spec_hash']}). It may call {calls}, "
        f"with the scopes {', '.join(draft['scopes'])}; once approved, it can be run."
    )


def clause_rows(request: str, version: dict[str, Any], cat: Catalog) -> list[dict[str, Any]]:
    """Each clause of the request beside the step(s) implementing it (or 'no step')."""
    from copilot.drafting.clauses import extract_clauses
    from copilot.drafting.trace import trace_clauses

    spec = spec_of(version)
    if spec is None:
        links = [(c, [], "") for c in extract_clauses(request)]
    else:
        links = [(x.clause, x.steps, x.how) for x in trace_clauses(spec, cat, request=request)]
    return [
        {
            "clause": clause.text,
            "kind": clause.kind,
            "step": ", ".join(steps) or "no step",
            "how": how or "-",
        }
        for clause, steps, how in links
    ]


def branch_rows(dry: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Per branch: its condition and the dry-run scenarios that took each side."""
    return [
        {
            "branch": b["step"],
            "condition": b["condition"],
            "true side": ", ".join(b["true"]) or "not reached",
            "false side": ", ".join(b["false"]) or "not reached",
        }
        for b in (dry or {}).get("branches", [])
    ]


def signed_in(headers: Mapping[str, str]) -> Reviewer | None:
    """The verified reviewer in the request headers, if atc is configured to read one."""
    return review.reviewer_from_headers(headers, load_settings())


def unverified(name: str) -> Reviewer:
    """A reviewer known only by the name they typed."""
    return Reviewer(name.strip(), verified=False)


def allowed_operations(cat: Catalog, scopes: list[str]) -> list[str]:
    """Operation ids the granted scopes allow, for the step editor's select box."""
    return [op.id for op in cat.operations_for(scopes)]


def spec_doc(version: dict[str, Any]) -> dict[str, Any] | None:
    """The version's spec as a document, or None when it has no spec that parses."""
    spec = spec_of(version)
    return json.loads(spec.to_json()) if spec is not None else None


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """An edited table as rows of plain values (missing cells are None)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def decision_line(draft: dict[str, Any]) -> str | None:
    """'approved version N (spec sha256 abcd…) by X (verified)' for a decided draft."""
    status = draft["status"]
    actions = (status, f"changed to {status}")
    row = next((a for a in reversed(draft["audit"]) if a["action"] in actions), None)
    if status not in ("approved", "rejected") or row is None:
        return None
    number = draft["approved_version"] or row["version"]
    version = next((v for v in draft["versions"] if v["version"] == number), {})
    sha = (row.get("spec_hash") or version.get("spec_hash") or "?")[:12]
    how = "verified" if row.get("verified") else "unverified"
    if row["actor"] == "atc":
        how = row["comment"] or "automatic"
    changed = ", changing an earlier decision" if row["action"].startswith("changed") else ""
    return f"{status} version {number} (spec sha256 {sha}…) by {row['actor']} ({how}){changed}"


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
            "approval": lambda s: f"{s.approver}, {s.timeout_s} s, on timeout {s.timeout_action()}",
            "sleep": lambda s: f"{s.duration_s} s",
            "branch": lambda s: f"{s.condition.left} {s.condition.op} {s.condition.right!r}",
            "parallel": lambda s: ", ".join(s.steps),
        }[step.kind](step)
        keys = ("next", "if_true", "if_false", "on_reject", "on_timeout_next")
        go = [getattr(step, k, None) for k in keys]
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
