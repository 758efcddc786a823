"""Starting, listing, showing and deciding runs of approved drafts (the CLI's library).

Everything that can refuse is checked before a client connects: the draft
version is approved and re-verified (:func:`copilot.runs.approved.approved_version`),
the inputs match the spec. A run's workflow id is ``run-<draft>-<random>``;
its memo and search attributes carry the draft id, version, spec hash,
who asked and ``kind=draft-run``, never a key or a token.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError

from copilot.config import Settings, load_settings
from copilot.drafting.store import DraftStore
from copilot.errors import InputError, PolicyDenied
from copilot.runs.approved import TYPE_PREFIX, approved_version
from copilot.runs.inputs import check_inputs
from copilot.runs.views import calls_made
from copilot.scopes import load_catalog
from copilot.temporal_connect import connect
from workflows.runs.shared import (
    RUN_KIND,
    ensure_run_attributes,
    run_attributes,
    run_memo,
    run_workflow_id,
)
from workflows.runtime.shared import ApprovalDecision, StepStatus

QUERY_TIMEOUT = timedelta(seconds=5)


def _settings(settings: Settings | None) -> Settings:
    return settings or load_settings()


def start_run(
    draft_id: str,
    given: dict[str, Any],
    requested_by: str,
    *,
    version: int | None = None,
    wait: bool = False,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Start the approved version of ``draft_id`` (and wait for its result with ``wait``)."""
    settings = _settings(settings)
    approved = approved_version(DraftStore.in_data_dir(settings.data_dir), draft_id, version)
    inputs = check_inputs(approved.spec, given)

    async def go() -> dict[str, Any]:
        client = await connect(settings)
        indexed = await ensure_run_attributes(client, settings.temporal_namespace)
        timeout = approved.spec.execution_timeout_s
        handle = await client.start_workflow(
            approved.workflow_type,
            inputs,
            id=run_workflow_id(draft_id),
            task_queue=approved.task_queue(settings.runs_task_queue),
            memo=run_memo(approved, requested_by),
            search_attributes=run_attributes(approved, requested_by) if indexed else None,
            execution_timeout=timedelta(seconds=timeout) if timeout else None,
        )
        out = {
            "run_id": handle.id,
            "draft_id": draft_id,
            "version": approved.version,
            "spec_hash": approved.spec_hash,
            "workflow_type": approved.workflow_type,
            "task_queue": approved.task_queue(settings.runs_task_queue),
            "status": "RUNNING",
            "result": None,
        }
        if wait:
            try:
                out["result"] = await handle.result()
                out["status"] = "COMPLETED"
            except WorkflowFailureError as exc:
                out["status"], out["error"] = "FAILED", _innermost(exc)
        return out

    return asyncio.run(go())


def _innermost(exc: BaseException) -> str:
    while getattr(exc, "cause", None) is not None:
        exc = exc.cause  # type: ignore[assignment]
    return str(exc)


def list_runs(draft_id: str | None = None, *, settings: Settings | None = None) -> list[dict]:
    """Runs of approved drafts, newest first (optionally of one draft)."""
    settings = _settings(settings)
    query = f'WorkflowType STARTS_WITH "{TYPE_PREFIX}"'

    async def go() -> list[dict]:
        client = await connect(settings)
        rows = []
        async for wf in client.list_workflows(query):
            memo = await wf.memo()
            if memo.get("kind") != RUN_KIND or (draft_id and memo.get("draft_id") != draft_id):
                continue
            rows.append(
                {
                    "run_id": wf.id,
                    "status": wf.status.name if wf.status else None,
                    "draft_id": memo.get("draft_id"),
                    "version": memo.get("version"),
                    "requested_by": memo.get("requested_by"),
                    "started": wf.start_time.isoformat() if wf.start_time else None,
                    "workflow_type": wf.workflow_type,
                }
            )
        return rows

    return asyncio.run(go())


async def _run_handle(client: Client, run_id: str) -> tuple[Any, Any, dict]:
    handle = client.get_workflow_handle(run_id)
    try:
        described = await handle.describe()
    except RPCError as exc:
        raise InputError(f"no run {run_id!r} ({exc.message})") from None
    memo = await described.memo()
    if memo.get("kind") != RUN_KIND:
        raise InputError(f"{run_id} is not a run of an approved draft")
    return handle, described, memo


def show_run(run_id: str, *, settings: Settings | None = None) -> dict[str, Any]:
    """Status, steps (the ``status`` query or the result's path), calls made and the result."""
    settings = _settings(settings)

    async def go() -> dict[str, Any]:
        client = await connect(settings)
        handle, described, memo = await _run_handle(client, run_id)
        status = described.status or WorkflowExecutionStatus.RUNNING
        history = await handle.fetch_history()
        catalog = load_catalog(memo.get("products"))
        out: dict[str, Any] = {
            "run_id": run_id, "status": status.name, "draft_id": memo.get("draft_id"),
            "version": memo.get("version"), "spec_hash": memo.get("spec_hash"),
            "requested_by": memo.get("requested_by"), "workflow_type": described.workflow_type,
            "now": None, "steps": [], "result": None, "error": None,
        }  # fmt: skip
        out["calls"] = calls_made(history.to_json_dict(), lambda op: _method(catalog, op))
        if status == WorkflowExecutionStatus.COMPLETED:
            out["result"] = await handle.result()
            out["steps"] = list(out["result"].get("path", []))
        elif status == WorkflowExecutionStatus.RUNNING:
            try:
                now = await handle.query(
                    "status", result_type=StepStatus, rpc_timeout=QUERY_TIMEOUT
                )
                out["now"], out["steps"] = dataclasses.asdict(now), list(now.path)
            except RPCError as exc:
                out["error"] = f"status query unanswered (is the runs worker up?): {exc.message}"
        else:
            try:
                await handle.result()
            except WorkflowFailureError as exc:
                out["error"] = _innermost(exc)
        return out

    return asyncio.run(go())


def _method(catalog: Any, operation: str) -> str:
    found = catalog.get_operation(operation)
    return found.method if found else "?"


def decide_run(
    run_id: str,
    step: str,
    outcome: str,
    reviewer: str,
    comment: str = "",
    *,
    settings: Settings | None = None,
) -> str:
    """Send one approval decision through the run's validated ``decide`` update."""
    if outcome not in ("approve", "reject"):
        raise InputError(f"the decision is approve or reject, not {outcome!r}")
    settings = _settings(settings)

    async def go() -> str:
        client = await connect(settings)
        handle, _, _ = await _run_handle(client, run_id)
        decision = ApprovalDecision(step, outcome, reviewer, comment)
        try:
            return await handle.execute_update("decide", decision, result_type=str)
        except WorkflowUpdateFailedError as exc:
            raise PolicyDenied(f"run {run_id}: {_innermost(exc)}") from None
        except RPCError as exc:
            raise PolicyDenied(f"run {run_id}: decision refused: {exc.message}") from None

    return asyncio.run(go())
