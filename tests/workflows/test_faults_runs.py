"""Runs of approved drafts under faults, on the real dev server with the runs worker as a process.

A runs worker killed hard while a call is in flight (the backend has
answered, the completion is lost) is replaced by a new one: the run
completes and the backend saw the call once, because the retry carries the
same ``Idempotency-Key`` and the gateway replays its answer. And the
activity worker runs calls only for the approved version it serves.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from copilot.runs.approved import approved_version
from tests.runs.estate import Estate
from tests.workflows.devserver import estate_fixture
from workflows.runtime.shared import CALL_OPERATION, CallRequest

pytestmark = pytest.mark.slow
SCOPES = ("fulfilment.write",)
SHIP_ONE = {
    "name": "ship_one",
    "description": "Create one shipment.",
    "inputs": [{"name": "order_id", "type": "string", "example": "ORD-1"}],
    "steps": [
        {
            "id": "ship",
            "kind": "call",
            "operation": "fulfilment.create_shipment",
            "body": [{"name": "order_id", "value": "${inputs.order_id}"}],
            "timeout_s": 5,
        }
    ],
    "execution_timeout_s": 600,
}


estate = estate_fixture(Estate)


def _posts(estate: Estate) -> list[dict]:
    return [h for h in estate.gateway.hits if h["method"] == "POST"]


def test_a_worker_killed_during_a_call_is_replaced_and_the_backend_sees_the_call_once(
    estate: Estate,
) -> None:
    draft_id = estate.draft(SHIP_ONE, SCOPES)
    estate.approve(draft_id)
    doomed = estate.worker(ATC_FAILPOINTS="gateway.after_send")
    waiting = estate.atc_background(
        "run", draft_id, "--input", '{"order_id": "ORD-7"}', "--wait", "--json"
    )
    assert doomed.proc.wait(120) == 137  # ended at the failpoint, after the backend answered
    assert len(_posts(estate)) == 1
    estate.worker()
    out, err = waiting.communicate(timeout=180)
    assert waiting.returncode == 0, err
    result = json.loads(out)
    assert result["status"] == "COMPLETED" and result["result"]["results"]["ship"]["status"] == 201
    posts = _posts(estate)
    keys = Counter(dict(h["headers"]).get("idempotency-key") for h in posts)
    assert len(posts) == 1 and list(keys.values()) == [1] and None not in keys
    # The retry did reach the gateway (which answered it from memory), not only the backend.
    assert len(estate.gateway.tokens) >= 2


@workflow.defn(name="atc-draft.borrowed_scopes")
class BorrowedScopes:
    """Not an approved version: it sends a call to an approved version's task queue."""

    @workflow.run
    async def run(self, target: dict) -> dict:
        request = CallRequest("ship", "fulfilment.create_shipment", body={"order_id": "ORD-8"})
        return await workflow.execute_activity(
            CALL_OPERATION,
            request,
            result_type=dict,
            task_queue=target["queue"],
            start_to_close_timeout=timedelta(seconds=10),
        )


async def _borrow(estate: Estate, queue: str) -> BaseException:
    client = await Client.connect(estate.server.address)
    own_queue = f"rogue-{uuid.uuid4().hex[:8]}"
    # Unsandboxed: this test module's imports are not sandbox-safe, and it is the test's own code.
    rogue = Worker(
        client,
        task_queue=own_queue,
        workflows=[BorrowedScopes],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    async with rogue:
        with pytest.raises(WorkflowFailureError) as failed:
            await client.execute_workflow(
                BorrowedScopes.run,
                {"queue": queue},
                id=f"rogue-{uuid.uuid4().hex[:8]}",
                task_queue=own_queue,
                execution_timeout=timedelta(seconds=60),
            )
    cause: BaseException = failed.value
    while getattr(cause, "cause", None) is not None:
        cause = cause.cause  # type: ignore[assignment]
    return cause


def test_the_activity_worker_refuses_calls_from_other_workflow_types(estate: Estate) -> None:
    draft_id = estate.draft(SHIP_ONE, SCOPES)
    estate.approve(draft_id)
    estate.worker()
    queue = approved_version(estate.store, draft_id).task_queue(estate.queue)
    cause = asyncio.run(_borrow(estate, queue))
    assert "runs atc-draft.ship_one.v1." in str(cause)
    assert "not atc-draft.borrowed_scopes" in str(cause)
    assert _posts(estate) == [] and estate.gateway.tokens == []
