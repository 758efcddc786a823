"""Drafting and editing as the CLI and the dashboard do it: one entry point each.

``run_draft`` plans, validates, dry-runs, stores and writes a draft
in-process (``workflows.authoring.starter.run_draft_temporal`` does the same
through Temporal, from the same :class:`~copilot.drafting.record.DraftInput`);
``edit_spec`` stores a person's edit of the *spec* as a new version: atc
re-renders the code with its trusted renderer and validates it (people never
edit code; custom code belongs in the team's own repository and review).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from copilot.config import Settings, load_settings
from copilot.drafting.draft import run_attempts, validate_attempt
from copilot.drafting.job import DraftJob, draft_input, finish_report
from copilot.drafting.planner import Planner
from copilot.drafting.planners import choose_planner
from copilot.drafting.record import DraftRecord, ValidateInput
from copilot.drafting.store import DraftStore, NewVersion
from copilot.errors import InputError
from copilot.rules import Finding
from copilot.scopes import load_catalog

MAX_SPEC_BYTES = 256_000
__all__ = ["DraftJob", "EditOutcome", "edit_spec", "read_spec", "run_draft"]


@dataclass
class EditOutcome:
    """A spec edit stored as a new version."""

    version: int
    valid: bool
    findings: list[Finding]
    record: DraftRecord


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
    data = draft_input(job, settings, catalog)
    data.run_dry_run = run_dry_run
    record = run_attempts(data, catalog, planner or choose_planner(settings, data.planner))
    if data.store:
        store = DraftStore.in_data_dir(settings.data_dir)
        record.draft_id = store.store_run(record, data.products, data.actor)
        record.version = 1
    return finish_report(record, catalog, job.out, data)


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
