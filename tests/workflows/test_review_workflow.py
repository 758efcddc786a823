"""ReviewWorkflow on the real time-skipping test server with an in-process worker.

The ``decide`` update's validator refuses bad decisions before anything is
written (no history event, no audit entry); an accepted approval is in the
store's audit trail; a review no one decides expires (time skipping); the
recorded and the committed histories replay.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowHistory, WorkflowUpdateFailedError

from copilot.config import Settings
from copilot.drafting.decision import ReviewDecision
from copilot.drafting.render import render
from copilot.drafting.spec import WorkflowSpec
from copilot.drafting.store import DraftStore, NewVersion
from copilot.errors import PolicyDenied
from copilot.scopes import DEFAULT_PRODUCTS
from tests.drafting.specs import minimal
from tests.workflows.test_drafting_workflow import (
    HISTORIES,
    replay,
    running_worker,
    save_history,
)
from workflows.authoring.shared import (
    TASK_QUEUE,
    ReviewInput,
    ReviewState,
    review_workflow_id,
)
from workflows.authoring.workflows import ReviewWorkflow

WEEK_S = 7 * 24 * 3600.0


def _version(valid: bool, timeout_s: int = 30) -> NewVersion:
    spec = WorkflowSpec.model_validate(minimal(timeout_s=timeout_s))
    return NewVersion(spec.to_json(), render(spec, ("orders.read",)), [], valid)


def _decision(
    store: DraftStore, draft_id: str, action: str = "approve", **kw: Any
) -> ReviewDecision:
    state = store.state(draft_id)
    fields = {"version": state.version, "spec_hash": state.spec_hash, **kw}
    return ReviewDecision(action, fields.pop("reviewer", "alice"), **fields)


def _new_draft(store: DraftStore) -> str:
    return store.create(
        "hold big orders", ["orders.read"], str(DEFAULT_PRODUCTS), _version(True), "bob"
    )


async def _start(client: Client, draft_id: str) -> WorkflowHandle[Any, ReviewState]:
    handle = await client.start_workflow(
        ReviewWorkflow.run,
        ReviewInput(draft_id, WEEK_S),
        id=review_workflow_id(draft_id),
        task_queue=TASK_QUEUE,
    )
    for _ in range(1000):  # until the workflow has loaded the draft from the store
        state = await handle.query(ReviewWorkflow.state)
        if state.version:
            return handle
        await asyncio.sleep(0.01)
    raise AssertionError("the review never loaded the draft")


async def _refused(handle: WorkflowHandle[Any, ReviewState], decision: ReviewDecision) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(ReviewWorkflow.decide, decision)
    return str(caught.value.cause)


@pytest.mark.slow
def test_bad_decisions_are_refused_before_history_and_an_approval_is_audited(
    tmp_path: Path,
) -> None:
    store = DraftStore.in_data_dir(tmp_path)
    draft_id = _new_draft(store)
    out: dict[str, Any] = {}

    async def go() -> None:
        async with running_worker(Settings(data_dir=tmp_path)) as client:
            handle = await _start(client, draft_id)
            out["refused"] = [
                await _refused(handle, _decision(store, draft_id, "maybe")),
                await _refused(handle, _decision(store, draft_id, reviewer="  ")),
                await _refused(handle, _decision(store, draft_id, version=7)),
                await _refused(handle, _decision(store, draft_id, spec_hash="0" * 64)),
            ]
            out["audit_before"] = len(store.get(draft_id)["audit"])
            # A new version that fails validation is its own: the review keeps version 1
            # under review and refuses to approve the failed one.
            store.add_version(draft_id, _version(False, 45), "carol", "edit")
            out["after_failed"] = await handle.execute_update(ReviewWorkflow.refresh)
            failed_hash = store.version(draft_id, 2)["spec_hash"]
            failed = _decision(store, draft_id, version=2, spec_hash=failed_hash)
            out["refused"] += [await _refused(handle, failed)]
            store.add_version(draft_id, _version(True, 50), "carol", "edit")
            await handle.execute_update(ReviewWorkflow.refresh)
            out["state"] = await handle.execute_update(
                ReviewWorkflow.decide, _decision(store, draft_id, comment="ship it")
            )
            out["result"] = await handle.result()
            out["history"] = await handle.fetch_history()
            out["memo"] = await (await handle.describe()).memo()

    asyncio.run(go())
    refused = out["refused"]
    assert "unknown action" in refused[0] and "reviewer" in refused[1]
    assert "not the current version" in refused[2] and "not the current version" in refused[3]
    assert "is not the current version 1" in refused[4]
    assert out["after_failed"].version == 1 and out["after_failed"].status == "pending"
    assert out["audit_before"] == 1  # only "created": refusals wrote nothing
    assert out["state"].status == "approved" and out["result"].status == "approved"
    assert out["result"].decisions[0]["reviewer"] == "alice"
    history: WorkflowHistory = out["history"]
    accepted = [e for e in history.events if e.HasField("workflow_execution_update_accepted_event_attributes")]  # fmt: skip
    assert len(accepted) == 3  # two refreshes and the approval; no refused decision
    draft = store.get(draft_id)
    assert draft["status"] == "approved" and draft["approved_version"] == 3
    last = draft["audit"][-1]
    assert (last["actor"], last["action"], last["comment"], last["version"]) == (
        "alice",
        "approved",
        "ship it",
        3,
    )
    assert out["memo"]["status"] == "approved" and out["memo"]["decided_by"] == "alice"
    assert out["memo"]["version"] == 3 and out["memo"]["spec_hash"] == draft["approved_spec_hash"]
    save_history("review_approved.json", history)
    replay(history)


@pytest.mark.slow
def test_a_review_no_one_decides_expires(tmp_path: Path) -> None:
    store = DraftStore.in_data_dir(tmp_path)
    draft_id = _new_draft(store)

    async def go() -> ReviewState:
        async with running_worker(Settings(data_dir=tmp_path)) as client:
            handle = await _start(client, draft_id)
            return await handle.result()  # the test server skips the week

    state = asyncio.run(go())
    assert state.status == "expired" and state.decisions == []
    draft = store.get(draft_id)
    assert draft["status"] == "draft"
    assert draft["audit"][-1]["actor"] == "atc"
    assert "review expired" in draft["audit"][-1]["comment"]


@pytest.mark.slow
def test_once_a_review_workflow_runs_no_decision_bypasses_it(tmp_path: Path) -> None:
    store = DraftStore.in_data_dir(tmp_path)
    draft_id = _new_draft(store)

    async def go() -> str:
        async with running_worker(Settings(data_dir=tmp_path)) as client:
            await _start(client, draft_id)
            with pytest.raises(PolicyDenied, match="decide update") as caught:
                store.decide(draft_id, _decision(store, draft_id, "reject", reviewer="dana"))
            return str(caught.value)

    asyncio.run(go())
    assert store.get(draft_id)["status"] == "draft"
    assert store.get(draft_id)["review_workflow_id"] == review_workflow_id(draft_id)


@pytest.mark.slow
def test_the_committed_review_history_replays() -> None:
    path = HISTORIES / "review_approved.json"
    replay(WorkflowHistory.from_json("review-fixture", path.read_text(encoding="utf-8")))
