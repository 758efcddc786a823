"""Review decisions under races and faults, on the real dev server with worker processes.

Each test shows exactly one decision landing, for the version the reviewer
named: a stale version is refused, concurrent approve/reject lands once, a
lost activity completion is retried without a second write, and a review
survives a server restart.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError

from copilot.drafting.decision import ReviewDecision
from copilot.drafting.render import render
from copilot.drafting.review import Reviewer, decide
from copilot.drafting.spec import WorkflowSpec
from copilot.drafting.store import DraftStore, NewVersion
from copilot.errors import PolicyDenied
from copilot.scopes import DEFAULT_PRODUCTS
from tests.drafting.specs import minimal
from tests.workflows import devserver
from tests.workflows.devserver import DevServer, dev_server, estate_fixture
from workflows.authoring.shared import ReviewInput, ReviewState, review_workflow_id

pytestmark = pytest.mark.slow
SCOPES = ("orders.read",)


def _version(timeout_s: int = 30) -> NewVersion:
    spec = WorkflowSpec.model_validate(minimal(timeout_s=timeout_s))
    return NewVersion(spec.to_json(), render(spec, SCOPES), [], True)


class Estate(devserver.Estate):
    """An estate with a draft store and a way to start reviews."""

    def __init__(self, server: DevServer, tmp: Path) -> None:
        super().__init__(server, tmp)
        self.store = DraftStore.in_data_dir(self.data)

    def draft(self) -> str:
        return self.store.create(
            "get an order", list(SCOPES), str(DEFAULT_PRODUCTS), _version(), "bob"
        )

    def decision(self, draft_id: str, action: str, reviewer: str, **kw: Any) -> ReviewDecision:
        state = self.store.state(draft_id)
        return ReviewDecision(action, reviewer, "", state.version, state.spec_hash, **kw)

    async def review(self, client: Client, draft_id: str) -> Any:
        handle = await client.start_workflow(
            "ReviewWorkflow",
            ReviewInput(draft_id, 3600.0, True),
            id=review_workflow_id(draft_id),
            task_queue=self.queue,
            result_type=ReviewState,
        )
        for _ in range(600):
            if (await handle.query("state", result_type=ReviewState)).version:
                return handle
            await asyncio.sleep(0.05)
        raise AssertionError("the review never loaded the draft")


estate = estate_fixture(Estate)


def _final_decisions(store: DraftStore, draft_id: str) -> list[dict[str, Any]]:
    return [a for a in store.get(draft_id)["audit"] if a["action"] in ("approved", "rejected")]


def test_a_stale_version_is_refused_and_the_current_one_is_approved(estate: Estate) -> None:
    estate.worker()
    draft_id = estate.draft()

    async def go() -> list[str]:
        client = await Client.connect(estate.server.address)
        handle = await estate.review(client, draft_id)
        seen = estate.decision(draft_id, "approve", "alice")  # the reviewer looked at version 1
        estate.store.add_version(draft_id, _version(45), "carol", "edit")  # version 2 lands
        refusals = []
        # Straight to the workflow, whose state still says version 1: the store's
        # compare-and-set, inside the one writer's activity, refuses it.
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await handle.execute_update("decide", seen, result_type=ReviewState)
        refusals.append(str(caught.value.cause.cause or caught.value.cause))
        # Through the front door (CLI and dashboard): refreshed first, refused by the validator.
        with pytest.raises(PolicyDenied) as denied:
            await asyncio.to_thread(
                decide, draft_id, "approve", version=1, spec_hash=seen.spec_hash,
                reviewer=Reviewer("alice"), settings=estate.settings,
            )  # fmt: skip
        refusals.append(denied.value.message)
        current = estate.store.state(draft_id)
        await asyncio.to_thread(
            decide, draft_id, "approve", version=2, spec_hash=current.spec_hash,
            reviewer=Reviewer("alice"), settings=estate.settings,
        )  # fmt: skip
        return refusals

    refusals = asyncio.run(go())
    assert all("not the current version 2" in r for r in refusals), refusals
    draft = estate.store.get(draft_id)
    assert (draft["status"], draft["approved_version"]) == ("approved", 2)
    assert len(_final_decisions(estate.store, draft_id)) == 1


def test_concurrent_approve_and_reject_land_exactly_once(estate: Estate) -> None:
    estate.worker()
    drafts = [estate.draft() for _ in range(5)]

    async def race(client: Client, draft_id: str) -> list[str]:
        handle = await estate.review(client, draft_id)
        decisions = [
            estate.decision(draft_id, "approve", "alice"),
            estate.decision(draft_id, "reject", "bob"),
        ]

        async def send(d: ReviewDecision) -> str:
            try:
                state = await handle.execute_update("decide", d, result_type=ReviewState)
                return state.status
            except WorkflowUpdateFailedError as exc:
                return "refused: " + str(exc.cause)

        return list(await asyncio.gather(*(send(d) for d in decisions)))

    async def go() -> list[list[str]]:
        client = await Client.connect(estate.server.address)
        return [await race(client, d) for d in drafts]

    for draft_id, outcomes in zip(drafts, asyncio.run(go()), strict=True):
        landed = [o for o in outcomes if not o.startswith("refused")]
        assert len(landed) == 1, outcomes
        final = _final_decisions(estate.store, draft_id)
        assert len(final) == 1 and final[0]["action"] == landed[0]
        assert estate.store.get(draft_id)["status"] == landed[0]


def test_a_decision_whose_completion_was_lost_lands_once(estate: Estate) -> None:
    first = estate.worker(ATC_FAILPOINTS="decision.after_commit")
    draft_id = estate.draft()

    async def go() -> ReviewState:
        client = await Client.connect(estate.server.address)
        handle = await estate.review(client, draft_id)
        update = asyncio.ensure_future(
            handle.execute_update(
                "decide", estate.decision(draft_id, "approve", "alice"), result_type=ReviewState
            )
        )
        # The worker exits right after the store committed, before reporting completion.
        await asyncio.to_thread(first.proc.wait, 60)
        estate.worker()
        return await asyncio.wait_for(update, 120)

    state = asyncio.run(go())
    assert first.proc.returncode == 137
    assert state.status == "approved"
    final = _final_decisions(estate.store, draft_id)
    assert [(a["action"], a["actor"]) for a in final] == [("approved", "alice")]


def test_a_pending_review_survives_a_server_restart(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    with dev_server(own) as server:
        estate = Estate(server, tmp_path)
        try:
            estate.worker()
            draft_id = estate.draft()

            async def start() -> None:
                await estate.review(await Client.connect(server.address), draft_id)

            asyncio.run(start())
            server.stop()
            server.start()
            draft = decide(
                draft_id,
                "reject",
                version=1,
                spec_hash=estate.store.state(draft_id).spec_hash,
                reviewer=Reviewer("dana"),
                comment="not now",
                settings=estate.settings,
            )
        finally:
            estate.stop()
    assert draft["status"] == "rejected"
    final = _final_decisions(estate.store, draft_id)
    assert [(a["action"], a["actor"], a["comment"]) for a in final] == [
        ("rejected", "dana", "not now")
    ]


def test_temporal_lists_pending_reviews_and_who_approved(estate: Estate) -> None:
    estate.worker()
    draft_id = estate.draft()

    async def listed(client: Client, query: str) -> list[str]:
        for _ in range(200):  # visibility is eventually consistent
            found = [w.id async for w in client.list_workflows(query)]
            if found:
                return found
            await asyncio.sleep(0.1)
        return []

    async def go() -> tuple[list[str], list[str], dict[str, Any]]:
        client = await Client.connect(estate.server.address)
        handle = await estate.review(client, draft_id)
        mine = f'AtcDraftId="{draft_id}"'
        pending = await listed(client, f'AtcReviewStatus="pending" AND {mine}')
        await handle.execute_update(
            "decide", estate.decision(draft_id, "approve", "alice"), result_type=ReviewState
        )
        approved = await listed(
            client, f'AtcReviewStatus="approved" AND AtcDecidedBy="alice" AND {mine}'
        )
        memo = await (await handle.describe()).memo()
        return pending, approved, memo

    pending, approved, memo = asyncio.run(go())
    assert pending == [review_workflow_id(draft_id)]
    assert approved == [review_workflow_id(draft_id)]
    assert memo["spec_hash"] == estate.store.state(draft_id).spec_hash and memo["version"] == 1


def test_a_spec_edit_reopens_the_review_for_the_new_version(estate: Estate) -> None:
    from copilot.drafting.service import edit_spec

    estate.worker()
    draft_id = estate.draft()

    async def go() -> list[str]:
        client = await Client.connect(estate.server.address)
        handle = await estate.review(client, draft_id)
        await handle.execute_update(
            "decide", estate.decision(draft_id, "approve", "alice"), result_type=ReviewState
        )
        await handle.result()  # the first review ended with the approval
        outcome = await asyncio.to_thread(
            edit_spec, estate.store, draft_id, json.dumps(minimal(timeout_s=60)), "carol",
            settings=estate.settings,
        )  # fmt: skip
        assert outcome.valid and outcome.version == 2, outcome.findings
        query = f'AtcDraftId="{draft_id}" AND AtcReviewStatus="pending" AND AtcVersion=2'
        for _ in range(200):
            found = [w.id async for w in client.list_workflows(query)]
            if found:
                return found
            await asyncio.sleep(0.1)
        return []

    assert asyncio.run(go()) == [review_workflow_id(draft_id)]
    assert estate.store.get(draft_id)["status"] == "draft"
