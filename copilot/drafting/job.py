"""What to draft: a job from the CLI or the dashboard, resolved once for both ways of drafting.

``draft_input`` checks the scopes against the product file, mines the logs
for context and applies the settings' defaults, and gives the
:class:`~copilot.drafting.record.DraftInput` that the in-process driver
(:func:`copilot.drafting.service.run_draft`) and ``DraftRequestWorkflow``
(:func:`workflows.authoring.starter.run_draft_temporal`) both run; and
``finish_report`` turns either one's record into the same report and files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.config import Settings
from copilot.drafting.record import DEFAULT_REVIEW_TIMEOUT_S, DraftInput, DraftRecord
from copilot.drafting.report import report, write_outputs, write_validation
from copilot.scopes import Catalog


@dataclass
class DraftJob:
    """What to draft and where to put it, as a person asked for it."""

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
    return catalog.known_scopes(scopes, what="--scopes")


def mined_context(logs: list[Path], catalog: Catalog) -> list[dict[str, Any]]:
    """Patterns mined from logs, as context (quoted data) for the planner."""
    if not logs:
        return []
    from copilot.drafting.mining import mine_paths

    return [s.to_dict() for s in mine_paths(logs, catalog)]


def draft_input(job: DraftJob, settings: Settings, catalog: Catalog) -> DraftInput:
    """The input both paths draft from (scopes checked here, before anything starts)."""
    repairs = settings.repair_attempts if job.repair_attempts is None else job.repair_attempts
    return DraftInput(
        request=job.request,
        scopes=list(granted_scopes(catalog, job.scopes)),
        products=str(catalog.source),
        planner=job.planner,
        repair_attempts=repairs,
        actor=job.actor,
        context=mined_context(job.logs, catalog),
        store=job.store,
        plan_timeout_s=settings.llm_timeout_s + 30.0,
        review_timeout_s=DEFAULT_REVIEW_TIMEOUT_S if job.store else 0.0,
    )


def finish_report(
    record: DraftRecord, catalog: Catalog, out: Path | None, data: DraftInput
) -> dict[str, Any]:
    """Write the files (when asked) and build the report document."""
    files = write_outputs(record, out) if out else {}
    doc = report(record, catalog, files=files)
    if out:
        write_validation(doc, out)
    doc["suggestions"] = data.context
    return doc
