"""Starting drafting and sending review decisions through Temporal (``--temporal`` paths).

``run_draft_temporal`` builds the same report document as the in-process
``copilot.drafting.service.run_draft`` but lets a ``DraftRequestWorkflow``
on the configured Temporal address do the work (a worker must be running:
``atc worker``). ``decide_temporal`` sends a ``decide`` update to the
draft's ``ReviewWorkflow``. The inputs carry the request, scope names and
the product file path: never a key (the worker reads its own settings).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import asdict
from typing import Any

from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError, FailureError
from temporalio.service import RPCError, RPCStatusCode

from copilot.config import Settings, load_settings
from copilot.drafting.draft import DraftResult
from copilot.drafting.dryrun import DryRunReport
from copilot.drafting.report import report, write_outputs, write_validation
from copilot.drafting.service import DraftJob, granted_scopes, mined_context
from copilot.drafting.spec import WorkflowSpec
from copilot.errors import (
    InputError,
    LLMError,
    PolicyDenied,
    TemporalError,
)
from copilot.rules import Finding
from copilot.scopes import load_catalog
from workflows.drafting.shared import (
    DEFAULT_REVIEW_TIMEOUT_S,
    DRAFT_WORKFLOW,
    INPUT_ERROR,
    LLM_ERROR,
    LLM_UNAVAILABLE,
    POLICY_DENIED,
    DraftInput,
    DraftOutcome,
    ReviewDecision,
    ReviewState,
    review_workflow_id,
)


async def connect(settings: Settings) -> Client:
    """A client for the configured address and namespace (a clear error when unreachable)."""
    try:
        return await Client.connect(
            settings.temporal_address, namespace=settings.temporal_namespace
        )
    except Exception as exc:  # noqa: BLE001 - any connect failure means the same to a user
        raise TemporalError(
            f"cannot reach Temporal at {settings.temporal_address} ({exc}); start one with "
            "`temporal server start-dev` and a worker with `atc worker`"
        ) from None


def draft_input(job: DraftJob, settings: Settings) -> DraftInput:
    """The workflow input for a job (scopes checked here, before anything starts)."""
    catalog = load_catalog(job.products)
    scopes = granted_scopes(catalog, job.scopes)
    repairs = settings.repair_attempts if job.repair_attempts is None else job.repair_attempts
    return DraftInput(
        request=job.request,
        scopes=list(scopes),
        products=str(catalog.source),
        planner=job.planner,
        repair_attempts=repairs,
        actor=job.actor,
        context=mined_context(job.logs, catalog),
        store=job.store,
        plan_timeout_s=settings.llm_timeout_s + 30.0,
        review_timeout_s=DEFAULT_REVIEW_TIMEOUT_S if job.store else 0.0,
    )


def outcome_result(outcome: DraftOutcome) -> DraftResult:
    """The workflow's outcome as the in-process ``DraftResult`` (for the shared report)."""
    result = DraftResult(
        outcome.request,
        tuple(outcome.scopes),
        outcome.valid,
        outcome.planner,
        outcome.model,
        rules_ok=outcome.rules_ok,
        answer=outcome.answer,
        code=outcome.code,
        attempts=outcome.attempts,
        prompt_tokens=outcome.prompt_tokens,
        completion_tokens=outcome.completion_tokens,
        prompt_hash=outcome.prompt_hash,
        model_hash=outcome.model_hash,
        notes=list(outcome.notes),
        seconds=dict(outcome.seconds),
        history=list(outcome.history),
    )
    if outcome.spec_json:
        result.spec = WorkflowSpec.model_validate_json(outcome.spec_json)
    result.findings = [
        Finding(f["rule_id"], f["severity"], f["message"], f.get("where", ""))  # type: ignore[arg-type]
        for f in outcome.findings
    ]
    if outcome.dry_run is not None:
        d = outcome.dry_run
        result.dry_run = DryRunReport(
            d["ok"], d.get("error"), d.get("scenarios", []), d.get("gateway", []), d["duration_s"]
        )
    return result


def _atc_error(exc: BaseException) -> Exception:
    """The atc error a workflow or update failure stands for (its innermost cause)."""
    cause: BaseException | None = exc
    while isinstance(cause, FailureError) and not isinstance(cause, ApplicationError):
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        kind = {
            LLM_ERROR: LLMError,
            LLM_UNAVAILABLE: LLMError,
            INPUT_ERROR: InputError,
            POLICY_DENIED: PolicyDenied,
        }.get(cause.type or "", TemporalError)
        return kind(cause.message)
    return TemporalError(f"the workflow failed: {exc}")


async def execute_draft(client: Client, data: DraftInput, task_queue: str) -> DraftOutcome:
    """Run one ``DraftRequestWorkflow`` to its end."""
    try:
        return await client.execute_workflow(
            DRAFT_WORKFLOW,
            data,
            id=f"draft-{uuid.uuid4().hex[:16]}",
            task_queue=task_queue,
            result_type=DraftOutcome,
        )
    except WorkflowFailureError as exc:
        raise _atc_error(exc.cause) from None


def run_draft_temporal(job: DraftJob, *, settings: Settings | None = None) -> dict[str, Any]:
    """``run_draft`` through Temporal: the same report document, files written locally."""
    settings = settings or load_settings()
    data = draft_input(job, settings)

    async def go() -> DraftOutcome:
        client = await connect(settings)
        return await execute_draft(client, data, settings.temporal_task_queue)

    outcome = asyncio.run(go())
    result = outcome_result(outcome)
    catalog = load_catalog(job.products)
    files = write_outputs(result, job.out) if job.out else {}
    doc = report(result, catalog, draft_id=outcome.draft_id, version=outcome.version, files=files)
    doc["suggestions"] = data.context
    doc["temporal"] = {
        "plan_activity_attempts": outcome.plan_activity_attempts,
        "review_workflow_id": outcome.review_workflow_id,
    }
    if job.out:
        write_validation(doc, job.out)
    return doc


async def send_decision(client: Client, draft_id: str, decision: ReviewDecision) -> ReviewState:
    """The ``decide`` update on the draft's review workflow (refusals as atc errors)."""
    handle = client.get_workflow_handle(review_workflow_id(draft_id))
    try:
        # Reload the latest version first: an edit or re-draft made outside Temporal
        # must not leave the validator judging a stale version.
        await handle.execute_update("refresh", result_type=ReviewState)
        return await handle.execute_update("decide", decision, result_type=ReviewState)
    except WorkflowUpdateFailedError as exc:
        raise _atc_error(exc.cause) from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise InputError(
                f"no running review workflow for draft {draft_id} "
                f"({review_workflow_id(draft_id)}); decide without --temporal"
            ) from None
        raise TemporalError(f"Temporal refused the decision: {exc}") from None


def decide_temporal(
    draft_id: str,
    action: str,
    reviewer: str,
    comment: str = "",
    *,
    version: int = 0,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Send one decision through Temporal; returns the review's state as a dict."""
    settings = settings or load_settings()

    async def go() -> ReviewState:
        client = await connect(settings)
        return await send_decision(
            client, draft_id, ReviewDecision(action, reviewer, comment, version)
        )

    return asdict(asyncio.run(go()))
