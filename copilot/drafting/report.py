"""A drafting run as files, a stored version and a JSON report (shared by CLI and dashboard)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from copilot.drafting.draft import DraftResult
from copilot.drafting.store import NewVersion
from copilot.scopes.catalog import Catalog


def spec_text(result: DraftResult) -> str | None:
    """The spec as stored and written: canonical JSON when it parsed, else the raw answer."""
    if result.spec is not None:
        return result.spec.to_json()
    if isinstance(result.answer, dict):
        return json.dumps(result.answer, indent=2) + "\n"
    return result.answer if isinstance(result.answer, str) else None


def new_version(result: DraftResult) -> NewVersion:
    """The store's version record of a drafting run."""
    return NewVersion(
        spec_json=spec_text(result),
        code=result.code,
        findings=[f.to_dict() for f in result.findings],
        valid=result.valid,
        dry_run=result.dry_run.to_dict() if result.dry_run else None,
        planner=result.planner,
        model=result.model,
        model_hash=result.model_hash,
        prompt_hash=result.prompt_hash,
        attempts=result.attempts,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        notes=result.notes,
    )


def dry_run_summary(result: DraftResult) -> dict[str, Any] | None:
    """Per scenario: completed, path, calls (method, URL path, status), error."""
    if result.dry_run is None:
        return None
    out = {"ok": result.dry_run.ok, "error": result.dry_run.error, "scenarios": []}
    for s in result.dry_run.scenarios:
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


def report(
    result: DraftResult,
    catalog: Catalog,
    *,
    draft_id: str | None,
    version: int | None,
    files: dict[str, str],
) -> dict[str, Any]:
    """The JSON document ``atc draft --json`` prints (and validation.json holds)."""
    return {
        "draft_id": draft_id,
        "version": version,
        "valid": result.valid,
        "rules_passed": result.rules_ok,
        "status": "draft" if result.valid else "rejected",
        "request": result.request,
        "scopes": list(result.scopes),
        "findings": [f.to_dict() for f in result.findings],
        "operations": result.operations(catalog),
        "files": files,
        "llm": result.llm(),
        "notes": result.notes,
        "dry_run": dry_run_summary(result),
        "timings_s": result.seconds,
        "attempt_history": result.history,
        "hashes": {"prompt": result.prompt_hash, "model": result.model_hash},
    }


def write_outputs(result: DraftResult, out_dir: Path) -> dict[str, str]:
    """Write spec.json and (when rendered) workflow.py; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    text = spec_text(result)
    if text is not None:
        (out_dir / "spec.json").write_text(text, encoding="utf-8")
        files["spec"] = str(out_dir / "spec.json")
    stale = out_dir / "workflow.py"
    if result.code is not None:
        stale.write_text(result.code, encoding="utf-8")
        files["workflow"] = str(stale)
    elif stale.exists():
        stale.unlink()  # never leave code from an earlier draft beside a rejected spec
    files["validation"] = str(out_dir / "validation.json")
    return files


def write_validation(doc: dict[str, Any], out_dir: Path) -> None:
    (out_dir / "validation.json").write_text(
        json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8"
    )
