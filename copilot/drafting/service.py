"""Drafting and reviewing as the CLI and the dashboard do it: one entry point each.

``run_draft`` plans, validates, dry-runs, stores and writes a draft;
``edit_draft`` stores a human's edit of the code as a new version after the
code rules and a dry run (the edited code is loaded only in child
processes); ``redraft`` plans the same request again as a new version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.config import Settings, load_settings
from copilot.drafting.draft import DraftResult, draft_workflow
from copilot.drafting.dryrun import dry_run
from copilot.drafting.planner import Planner, choose_planner
from copilot.drafting.report import new_version, report, write_outputs, write_validation
from copilot.drafting.spec import WorkflowSpec
from copilot.drafting.store import DraftStore, NewVersion
from copilot.drafting.validate import validate_code
from copilot.errors import UsageError
from copilot.rules import Finding
from copilot.scopes import Catalog, load_catalog
from copilot.scopes.tokens import parse_scopes


@dataclass
class DraftJob:
    """What to draft and where to put it."""

    request: str
    scopes: str | list[str] | tuple[str, ...]
    products: Path | str | None = None
    out: Path | None = None
    logs: list[Path] = field(default_factory=list)
    planner: str = "auto"
    repair_attempts: int | None = None
    actor: str = "unknown"
    store: bool = True


def granted_scopes(catalog: Catalog, scopes: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Parse scopes and refuse ones no product holds (a typo would silently grant nothing)."""
    parsed = parse_scopes(scopes)
    if not parsed:
        raise UsageError("no scopes given; grant at least one (e.g. orders.read)")
    unknown = catalog.unknown_scopes(parsed)
    if unknown:
        raise UsageError(
            f"unknown scope(s) {', '.join(unknown)}; the product file offers: {', '.join(catalog.scopes)}"
        )
    return parsed


def mined_context(logs: list[Path], catalog: Catalog) -> list[dict[str, Any]]:
    """Patterns mined from logs, as context (quoted data) for the planner."""
    if not logs:
        return []
    from copilot.drafting.mining import mine_paths

    return [s.to_dict() for s in mine_paths(logs, catalog)]


def run_draft(
    job: DraftJob,
    *,
    settings: Settings | None = None,
    planner: Planner | None = None,
    run_dry_run: bool = True,
) -> dict[str, Any]:
    """Draft, validate, dry-run, store and write; returns the report document."""
    settings = settings or load_settings()
    catalog = load_catalog(job.products)
    scopes = granted_scopes(catalog, job.scopes)
    context = mined_context(job.logs, catalog)
    planner = planner or choose_planner(settings, job.planner)
    repairs = settings.repair_attempts if job.repair_attempts is None else job.repair_attempts
    result = draft_workflow(
        job.request,
        catalog=catalog,
        scopes=scopes,
        planner=planner,
        products=catalog.source,
        repair_attempts=repairs,
        context=context,
        run_dry_run=run_dry_run,
    )
    draft_id, version = None, None
    if job.store:
        store = DraftStore.in_data_dir(settings.data_dir)
        draft_id = store.create(
            job.request, list(scopes), catalog.source, new_version(result), job.actor
        )
        version = 1
    files = write_outputs(result, job.out) if job.out else {}
    doc = report(result, catalog, draft_id=draft_id, version=version, files=files)
    doc["suggestions"] = context
    if job.out:
        write_validation(doc, job.out)
    return doc


def edit_draft(
    store: DraftStore, draft_id: str, code: str, actor: str, *, run_dry_run: bool = True
) -> tuple[int, list[Finding], bool]:
    """Store edited code as a new version: code rules, then (if they pass) a dry run."""
    draft = store.get(draft_id)
    latest = store.version(draft_id)
    catalog = load_catalog(draft["products"])
    scopes = tuple(draft["scopes"])
    spec = WorkflowSpec.model_validate_json(latest["spec_json"]) if latest["spec_json"] else None
    findings = validate_code(code, catalog, scopes, spec=spec)
    report_doc = None
    valid = not [f for f in findings if f.is_error]
    if valid and run_dry_run and spec is not None:
        result = dry_run(code, spec, products=draft["products"], scopes=scopes)
        report_doc = result.to_dict()
        findings += [
            Finding("WF201", "error", f"{line}; fix: make every path finish")
            for line in result.failures()
        ]
        valid = result.ok
    elif spec is None:
        valid = False
        findings.append(
            Finding("WF201", "error", "no valid spec to dry-run against; fix: draft again")
        )
    version = NewVersion(
        spec_json=latest["spec_json"],
        code=code,
        findings=[f.to_dict() for f in findings],
        valid=valid and (report_doc is not None or not run_dry_run),
        dry_run=report_doc,
        planner="human edit",
        notes=["code edited by " + actor],
    )
    number = store.add_version(draft_id, version, actor, "edit")
    return number, findings, version.valid


def redraft(
    store: DraftStore,
    draft_id: str,
    actor: str,
    *,
    settings: Settings | None = None,
    planner: Planner | None = None,
) -> tuple[int, DraftResult]:
    """Plan the draft's request again and store the outcome as a new version."""
    settings = settings or load_settings()
    draft = store.get(draft_id)
    catalog = load_catalog(draft["products"])
    scopes = tuple(draft["scopes"])
    result = draft_workflow(
        draft["request"],
        catalog=catalog,
        scopes=scopes,
        planner=planner or choose_planner(settings),
        products=draft["products"],
        repair_attempts=settings.repair_attempts,
    )
    return store.add_version(draft_id, new_version(result), actor, "redraft"), result


def spec_document(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None
