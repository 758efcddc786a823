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
from copilot.drafting.store import DraftStore, NewVersion
from copilot.scopes import DEFAULT_PRODUCTS
from tests.workflows.test_drafting_workflow import (
    HISTORIES,
    replay,
    running_worker,
    save_history,
)
from workflows.drafting.shared import (
    TASK_QUEUE,
    ReviewDecision,
    ReviewInput,
    ReviewState,
    decision_problem,
    review_workflow_id,
)
from workflows.drafting.workflows import ReviewWorkflow

WEEK_S = 7 * 24 * 3600.0


def _version(valid: bool, code: str = "print('v')\n") -> NewVersion:
    return NewVersion(spec_json='{"name": "hold_order"}', code=code, findings=[], valid=valid)


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
                await _refused(handle, ReviewDecision("maybe", "alice")),
                await _refused(handle, ReviewDecision("approve", "  ")),
                await _refused(handle, ReviewDecision("approve", "alice", version=7)),
            ]
            out["audit_before"] = len(store.get(draft_id)["audit"])
            # An edit that fails validation: the review learns of it and refuses approval.
            store.add_version(draft_id, _version(False, "broken\n"), "carol", "edit")
            await handle.execute_update(ReviewWorkflow.refresh)
            out["refused"] += [
                await _refused(handle, ReviewDecision("approve", "alice")),
                await _refused(handle, ReviewDecision("approve", "alice", version=1)),
            ]
            store.add_version(draft_id, _version(True, "fixed\n"), "carol", "edit")
            await handle.execute_update(ReviewWorkflow.refresh)
            out["state"] = await handle.execute_update(
                ReviewWorkflow.decide, ReviewDecision("approve", "alice", "ship it", version=3)
            )
            out["result"] = await handle.result()
            out["history"] = await handle.fetch_history()

    asyncio.run(go())
    refused = out["refused"]
    assert "unknown action" in refused[0] and "reviewer" in refused[1]
    assert "not the current version" in refused[2] and "not the current version" in refused[4]
    assert "failed validation" in refused[3]
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
def test_a_decision_made_outside_temporal_stands_when_the_review_times_out(
    tmp_path: Path,
) -> None:
    store = DraftStore.in_data_dir(tmp_path)
    draft_id = _new_draft(store)

    async def go() -> ReviewState:
        async with running_worker(Settings(data_dir=tmp_path)) as client:
            handle = await _start(client, draft_id)
            store.reject(draft_id, "dana", "not now")  # the dashboard's SQLite path
            return await handle.result()

    state = asyncio.run(go())
    assert state.status == "rejected"
    assert [a["action"] for a in store.get(draft_id)["audit"]] == ["created", "rejected"]


@pytest.mark.slow
def test_the_committed_review_history_replays() -> None:
    path = HISTORIES / "review_approved.json"
    replay(WorkflowHistory.from_json("review-fixture", path.read_text(encoding="utf-8")))


def test_the_validator_rules_are_pure_and_explain_themselves() -> None:
    pending = ReviewState("drf_1", version=2, valid=True)
    assert decision_problem(pending, ReviewDecision("approve", "alice")) is None
    assert decision_problem(pending, ReviewDecision("approve", "alice", version=2)) is None
    assert "unknown action" in decision_problem(pending, ReviewDecision("ship", "alice"))
    assert "reviewer" in decision_problem(pending, ReviewDecision("reject", ""))
    assert "not the current" in decision_problem(pending, ReviewDecision("reject", "a", version=1))
    invalid = ReviewState("drf_1", version=2, valid=False)
    assert "failed validation" in decision_problem(invalid, ReviewDecision("approve", "alice"))
    assert decision_problem(invalid, ReviewDecision("reject", "alice")) is None
    done = ReviewState("drf_1", version=2, valid=True, status="approved")
    assert "comments only" in decision_problem(done, ReviewDecision("reject", "alice"))
    assert decision_problem(done, ReviewDecision("comment", "alice", "nice")) is None
