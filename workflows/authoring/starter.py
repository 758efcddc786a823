"""Starting drafting and sending review decisions through Temporal.

``run_draft_temporal`` builds the same report document as the in-process
``copilot.drafting.service.run_draft`` but lets a ``DraftRequestWorkflow``
on the configured Temporal address do the work (a worker must be running:
``atc worker``). It prints the workflow id before it waits, and rides out a
short server outage: connection errors are retried with backoff for up to
``RECONNECT_S``. ``decide_temporal`` sends a ``decide`` update to the
draft's ``ReviewWorkflow`` (starting a new run of it when a new version
re-opened a decided draft). Inputs carry the request, scope names and the
product file path: never a key (the worker reads its own settings).
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, FailureError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from copilot.config import Settings, load_settings
from copilot.drafting.job import DraftJob, draft_input, finish_report
from copilot.errors import AtcError, InputError, LLMError, PolicyDenied, TemporalError
from copilot.scopes import load_catalog
from copilot.temporal_connect import RECONNECT_S, connect
from workflows.authoring.review_attrs import ensure_search_attributes
from workflows.authoring.shared import (
    DEFAULT_REVIEW_TIMEOUT_S,
    DRAFT_WORKFLOW,
    INPUT_ERROR,
    LLM_ERROR,
    LLM_UNAVAILABLE,
    POLICY_DENIED,
    REVIEW_WORKFLOW,
    DraftInput,
    DraftRecord,
    ReviewDecision,
    ReviewInput,
    ReviewState,
    review_workflow_id,
)

T = TypeVar("T")
TRANSIENT = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED}


async def with_reconnect(call: Callable[[], Awaitable[T]], *, within_s: float = RECONNECT_S) -> T:
    """``call()`` again while the server is briefly unreachable (bounded, with backoff)."""
    deadline, delay = time.monotonic() + within_s, 0.5
    while True:
        try:
            return await call()
        except RPCError as exc:
            if exc.status not in TRANSIENT or time.monotonic() + delay > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def atc_error(exc: BaseException) -> AtcError:
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


async def execute_draft(
    client: Client,
    data: DraftInput,
    task_queue: str,
    *,
    announce: Callable[[str], None] = lambda _id: None,
) -> DraftRecord:
    """Start one ``DraftRequestWorkflow``, say its id, and wait for its end."""
    workflow_id = f"draft-{uuid.uuid4().hex[:16]}"
    handle: WorkflowHandle = await with_reconnect(
        lambda: client.start_workflow(
            DRAFT_WORKFLOW, data, id=workflow_id, task_queue=task_queue, result_type=DraftRecord
        )
    )
    announce(workflow_id)
    try:
        return await with_reconnect(handle.result)
    except WorkflowFailureError as exc:
        raise atc_error(exc.cause) from None


def _announce(workflow_id: str) -> None:
    print(f"drafting workflow: {workflow_id}", file=sys.stderr, flush=True)


def run_draft_temporal(job: DraftJob, *, settings: Settings | None = None) -> dict[str, Any]:
    """``run_draft`` through Temporal: the same report document, files written locally."""
    settings = settings or load_settings()
    catalog = load_catalog(job.products)
    data = draft_input(job, settings, catalog)

    async def go() -> DraftRecord:
        client = await connect(settings)
        data.search_attributes = await ensure_search_attributes(client, settings.temporal_namespace)
        return await execute_draft(client, data, settings.temporal_task_queue, announce=_announce)

    record = asyncio.run(go())
    doc = finish_report(record, catalog, job.out, data)
    doc["temporal"] = {
        "plan_activity_attempts": record.plan_activity_attempts,
        "review_workflow_id": record.review_workflow_id,
    }
    return doc


async def _reopen(client: Client, draft_id: str, task_queue: str) -> WorkflowHandle:
    """A new run of the draft's review (none ran, or its last run ended with a decision)."""
    registered = await ensure_search_attributes(client, client.namespace)
    try:
        return await client.start_workflow(
            REVIEW_WORKFLOW,
            ReviewInput(draft_id, DEFAULT_REVIEW_TIMEOUT_S, registered),
            id=review_workflow_id(draft_id),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            result_type=ReviewState,
        )
    except WorkflowAlreadyStartedError:  # another decider started it first: use that run
        return client.get_workflow_handle(review_workflow_id(draft_id), result_type=ReviewState)


async def _running_review(client: Client, draft_id: str, task_queue: str) -> WorkflowHandle:
    """The draft's running review workflow, started when none runs."""
    handle = client.get_workflow_handle(review_workflow_id(draft_id), result_type=ReviewState)
    try:
        description = await with_reconnect(handle.describe)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        return await _reopen(client, draft_id, task_queue)
    if description.status is None or description.status.name != "RUNNING":
        return await _reopen(client, draft_id, task_queue)
    return handle


async def send_decision(
    client: Client, draft_id: str, decision: ReviewDecision, task_queue: str
) -> ReviewState:
    """The ``decide`` update on the draft's review workflow (refusals as atc errors)."""
    try:
        handle = await _running_review(client, draft_id, task_queue)
        # Reload the latest version first, so the validator judges against the store.
        await with_reconnect(lambda: handle.execute_update("refresh", result_type=ReviewState))
        return await with_reconnect(
            lambda: handle.execute_update(
                "decide", decision, id=decision.decision_id or None, result_type=ReviewState
            )
        )
    except WorkflowUpdateFailedError as exc:
        raise atc_error(exc.cause) from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise InputError(
                f"no review workflow for draft {draft_id} ({review_workflow_id(draft_id)})"
            ) from None
        raise TemporalError(f"Temporal refused the decision: {exc}") from None


def decide_temporal(
    draft_id: str, decision: ReviewDecision, *, settings: Settings | None = None
) -> dict[str, Any]:
    """Send one decision through Temporal; returns the review's state as a dict."""
    settings = settings or load_settings()

    async def go() -> ReviewState:
        client = await connect(settings)
        return await send_decision(client, draft_id, decision, settings.temporal_task_queue)

    return asdict(asyncio.run(go()))


def refresh_review(draft_id: str, *, settings: Settings | None = None) -> dict[str, Any]:
    """Tell the draft's review workflow a new version exists (a new run if the last one ended)."""
    settings = settings or load_settings()

    async def go() -> ReviewState:
        client = await connect(settings, within_s=5.0)
        try:
            handle = await _running_review(client, draft_id, settings.temporal_task_queue)
            return await handle.execute_update("refresh", result_type=ReviewState)
        except WorkflowUpdateFailedError as exc:
            raise atc_error(exc.cause) from None
        except RPCError as exc:
            raise TemporalError(f"Temporal refused the refresh: {exc}") from None

    return asdict(asyncio.run(go()))
