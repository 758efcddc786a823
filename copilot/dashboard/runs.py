"""The Runs page's view models: approved drafts, their input forms, a run's steps and calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from copilot.dashboard.fmt import utc_time
from copilot.drafting.spec import WorkflowSpec
from copilot.drafting.store import DraftStore
from copilot.errors import PolicyDenied
from copilot.runs.approved import approved_version

DONE = {"COMPLETED", "FAILED", "TERMINATED", "CANCELED", "TIMED_OUT"}
WATCH_EVERY_S = 2.0  # how often the watch panel asks a run that has not ended


def refresh_every(status: str | None) -> float | None:
    """Seconds between refreshes of the watch panel for a run in ``status``; None once it ended."""
    return None if status in DONE else WATCH_EVERY_S


@dataclass(frozen=True)
class Runnable:
    """An approved draft version that can start, with its spec (the input form's schema)."""

    draft_id: str
    name: str
    version: int
    spec_hash: str
    spec: WorkflowSpec

    @property
    def label(self) -> str:
        return f"{self.name} — draft {self.draft_id}, version {self.version}"


def runnable_drafts(store: DraftStore) -> tuple[list[Runnable], list[str]]:
    """Approved drafts that verify (newest first), and why others that were approved cannot run."""
    found, refused = [], []
    for summary in store.list("approved"):
        try:
            approved = approved_version(store, summary["id"], None)
        except PolicyDenied as exc:
            refused.append(f"Draft {summary['id']} cannot run: {exc.message}.")
            continue
        found.append(
            Runnable(
                approved.draft_id, approved.spec.name, approved.version,
                approved.spec_hash, approved.spec,
            )
        )  # fmt: skip
    return found, refused


def input_fields(spec: WorkflowSpec) -> list[dict[str, Any]]:
    """One form field per spec input: name, type, label, help, default, required."""
    out = []
    for field in spec.inputs:
        default = field.default if field.default is not None else field.example
        out.append(
            {
                "name": field.name,
                "type": field.type,
                "label": field.name.replace("_", " "),
                "help": field.description or f"a {field.type}",
                "default": default,
                "required": field.required is not False,
            }
        )
    return out


def runs_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """``atc runs list`` rows as a table with UTC start times."""
    return pd.DataFrame(
        [
            {
                "run": r["run_id"],
                "status": r["status"],
                "draft": r["draft_id"],
                "version": r["version"],
                "requested by": r.get("requested_by"),
                "started": utc_time(r.get("started")),
            }
            for r in rows
        ],
        columns=["run", "status", "draft", "version", "requested by", "started"],
    )


def calls_table(view: dict[str, Any]) -> pd.DataFrame:
    """The calls a run made: step, method, operation, HTTP status (or the failure)."""
    return pd.DataFrame(
        [
            {
                "step": c["step"],
                "method": c["method"],
                "operation": c["operation"],
                "status": str(c["status"]) if c["status"] is not None else "",
                "state": c["state"],
                "error": c["error"] or "",
            }
            for c in view.get("calls", [])
        ],
        columns=["step", "method", "operation", "status", "state", "error"],
    )


def steps_table(spec: WorkflowSpec | None, view: dict[str, Any]) -> pd.DataFrame:
    """Every step of the spec with where the run is: done, now (waiting), or not reached."""
    taken = list(view.get("steps") or [])
    now = (view.get("now") or {}).get("step")
    ids = [s.id for s in spec.steps] if spec else taken
    rows = []
    for step in ids:
        if step == now and view.get("status") == "RUNNING":
            state = "waiting for approval" if view["now"].get("kind") == "approval" else "running"
        elif step in taken:
            state = "done"
        else:
            state = "not reached" if view.get("status") in DONE else "to come"
        rows.append({"step": step, "state": state})
    return pd.DataFrame(rows, columns=["step", "state"])


def pending_approval(view: dict[str, Any]) -> str | None:
    """The step waiting for a decision, if the run is waiting at one."""
    now = view.get("now") or {}
    if view.get("status") == "RUNNING" and now.get("kind") == "approval":
        return str(now.get("step"))
    return None


def result_lines(result: Any) -> list[tuple[str, str]]:
    """A run's result as (name, value) lines: nested values written inline, never as raw JSON."""
    if not isinstance(result, dict):
        return [("result", _inline(result))]
    return [(str(k).replace("_", " "), _inline(v)) for k, v in result.items()]


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_inline(v)}" for k, v in value.items()) or "–"
    if isinstance(value, list):
        return " → ".join(_inline(v) for v in value) or "–"
    return "–" if value is None else str(value)
