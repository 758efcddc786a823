"""Drafting and reviewing as the CLI and the dashboard do it: one entry point each.

``run_draft`` plans, validates, dry-runs, stores and writes a draft;
``edit_spec`` stores a person's edit of the *spec* as a new version: atc
re-renders the code with its trusted renderer and validates it (people never
edit code; custom code belongs in the team's own repository and review);
``redraft`` plans the same request again as a new version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.config import Settings, load_settings
from copilot.drafting.draft import draft_workflow, validate_attempt
from copilot.drafting.planner import Planner
from copilot.drafting.planners import choose_planner
from copilot.drafting.record import DraftRecord, ValidateInput
from copilot.drafting.report import report, write_outputs, write_validation
from copilot.drafting.store import DraftStore, NewVersion
from copilot.errors import InputError, UsageError
from copilot.rules import Finding
from copilot.scopes import Catalog, load_catalog
from copilot.scopes.tokens import parse_scopes

MAX_SPEC_BYTES = 256_000


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


@dataclass
class EditOutcome:
    """A spec edit stored as a new version."""

    version: int
    valid: bool
    findings: list[Finding]
    record: DraftRecord


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


def finish_report(record: DraftRecord, catalog: Catalog, out: Path | None) -> dict[str, Any]:
    """Write the files (when asked) and build the report document."""
    files = write_outputs(record, out) if out else {}
    doc = report(record, catalog, files=files)
    if out:
        write_validation(doc, out)
    return doc


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
    record = draft_workflow(
        job.request,
        catalog=catalog,
        scopes=scopes,
        planner=planner,
        products=catalog.source,
        repair_attempts=repairs,
        context=context,
        run_dry_run=run_dry_run,
    )
    if job.store:
        store = DraftStore.in_data_dir(settings.data_dir)
        record.draft_id = store.create(
            job.request,
            list(scopes),
            str(catalog.source),
            NewVersion.from_record(record),
            job.actor,
        )
        record.version = 1
    doc = finish_report(record, catalog, job.out)
    doc["suggestions"] = context
    return doc


def read_spec(text: str | bytes | dict) -> Any:
    """A spec edit as a document (bounded in size; not JSON is a clear error)."""
    if isinstance(text, dict):
        return text
    if len(text) > MAX_SPEC_BYTES:
        raise InputError(f"the spec is larger than {MAX_SPEC_BYTES} bytes; a spec is a short plan")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"the spec is not JSON: {str(exc)[:120]}") from None


def edit_spec(
    store: DraftStore,
    draft_id: str,
    spec: str | bytes | dict,
    actor: str,
    *,
    verified: bool = False,
    run_dry_run: bool = True,
    settings: Settings | None = None,
) -> EditOutcome:
    """Store an edited spec as a new version: render, every rule, then the dry run."""
    draft = store.get(draft_id)
    catalog = load_catalog(draft["products"])
    checked = validate_attempt(
        ValidateInput(
            read_spec(spec),
            None,
            list(draft["scopes"]),
            draft["products"],
            run_dry_run,
            draft["request"],
        ),
        catalog,
    )
    who = f"{actor} ({'verified' if verified else 'unverified'})"
    record = DraftRecord(
        request=draft["request"],
        scopes=list(draft["scopes"]),
        valid=checked.valid,
        rules_ok=checked.rules_ok,
        planner="human edit",
        spec_json=checked.spec_json,
        answer=None if checked.spec_json else (spec if isinstance(spec, dict) else str(spec)),
        code=checked.code,
        findings=checked.findings,
        dry_run=checked.dry_run,
        notes=[f"spec edited by {who}"],
        seconds=checked.seconds,
    )
    number = store.add_version(draft_id, NewVersion.from_record(record), actor, "edit")
    record.draft_id, record.version = draft_id, number
    if draft.get("review_workflow_id"):
        from copilot.drafting.review import announce_new_version

        note = announce_new_version(draft_id, settings)
        record.notes += [note] if note else []
    findings = [
        Finding(f["rule_id"], f["severity"], f["message"], f.get("where", ""))  # type: ignore[arg-type]
        for f in checked.findings
    ]
    return EditOutcome(number, record.valid, findings, record)


def redraft(
    store: DraftStore,
    draft_id: str,
    actor: str,
    *,
    settings: Settings | None = None,
    planner: Planner | None = None,
) -> tuple[int, DraftRecord]:
    """Plan the draft's request again and store the outcome as a new version."""
    settings = settings or load_settings()
    draft = store.get(draft_id)
    catalog = load_catalog(draft["products"])
    record = draft_workflow(
        draft["request"],
        catalog=catalog,
        scopes=tuple(draft["scopes"]),
        planner=planner or choose_planner(settings),
        products=draft["products"],
        repair_attempts=settings.repair_attempts,
    )
    number = store.add_version(draft_id, NewVersion.from_record(record), actor, "redraft")
    return number, record


def spec_document(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None
