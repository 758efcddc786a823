"""A drafting run as files and a JSON report (shared by the CLI, the dashboard and Temporal)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from copilot.drafting.record import DraftRecord
from copilot.drafting.spec import WorkflowSpec
from copilot.scopes.catalog import Catalog


def spec_of(record: DraftRecord) -> WorkflowSpec | None:
    """The record's spec, when it parsed."""
    return WorkflowSpec.model_validate_json(record.spec_json) if record.spec_json else None


def operations(record: DraftRecord, catalog: Catalog) -> list[dict[str, Any]]:
    """Every call of the spec: step, operation, method and full path template."""
    spec = spec_of(record)
    out = []
    for step in spec.operation_steps() if spec else []:
        op = catalog.get_operation(step.operation)
        out.append(
            {
                "step": step.id,
                "operation": step.operation,
                "method": op.method if op else None,
                "path_template": op.full_template if op else None,
                "scopes": list(op.scopes) if op else [],
            }
        )
    return out


def dry_run_summary(record: DraftRecord) -> dict[str, Any] | None:
    """Per scenario: completed, path, calls (method, URL path, status), error."""
    dry = record.dry_run
    if dry is None:
        return None
    out = {
        "ok": dry.get("ok", False),
        "error": dry.get("error"),
        "scenarios": [],
        "branches": dry.get("branches", []),
    }
    if "isolation" in dry:
        out["isolation"] = dry["isolation"]
    for s in dry.get("scenarios", []):
        calls = [
            {
                k: c.get(k)
                for k in ("step", "operation", "method", "url", "status", "attempt", "error")
            }
            for c in s.get("calls", [])
        ]
        out["scenarios"].append(
            {
                "name": s["name"],
                "completed": s.get("completed", False),
                "path": s.get("path", []),
                "approvals": s.get("approvals", []),
                "calls": calls,
                "error": s.get("error"),
            }
        )
    return out


def clause_links(record: DraftRecord, catalog: Catalog) -> list[dict[str, Any]]:
    """Each clause of the request with the step(s) implementing it (empty: none does)."""
    from copilot.drafting.clauses import extract_clauses
    from copilot.drafting.trace import trace_clauses

    spec = spec_of(record)
    if spec is None:
        return [{**c.to_dict(), "steps": [], "how": ""} for c in extract_clauses(record.request)]
    return [link.to_dict() for link in trace_clauses(spec, catalog, request=record.request)]


def report(
    record: DraftRecord,
    catalog: Catalog,
    *,
    files: dict[str, str],
) -> dict[str, Any]:
    """The JSON document ``atc draft --json`` prints (and validation.json holds)."""
    return {
        "draft_id": record.draft_id,
        "version": record.version,
        "valid": record.valid,
        "rules_passed": record.rules_ok,
        "status": "draft" if record.valid else "rejected",
        "request": record.request,
        "scopes": list(record.scopes),
        "findings": list(record.findings),
        "operations": operations(record, catalog),
        "clauses": clause_links(record, catalog),
        "files": files,
        "llm": record.llm(),
        "notes": record.notes,
        "dry_run": dry_run_summary(record),
        "timings_s": record.seconds,
        "attempt_history": record.history,
        "hashes": {"prompt": record.prompt_hash, "model": record.model_hash},
    }


def write_outputs(record: DraftRecord, out_dir: Path) -> dict[str, str]:
    """Write spec.json and (when rendered) workflow.py; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    text = record.spec_text()
    if text is not None:
        (out_dir / "spec.json").write_text(text, encoding="utf-8")
        files["spec"] = str(out_dir / "spec.json")
    stale = out_dir / "workflow.py"
    if record.code is not None:
        stale.write_text(record.code, encoding="utf-8")
        files["workflow"] = str(stale)
    elif stale.exists():
        stale.unlink()  # never leave code from an earlier draft beside a rejected spec
    files["validation"] = str(out_dir / "validation.json")
    return files


def write_validation(doc: dict[str, Any], out_dir: Path) -> None:
    (out_dir / "validation.json").write_text(
        json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8"
    )
