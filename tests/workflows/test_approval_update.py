"""Approvals in a rendered workflow: the update's validator and handler refuse bad decisions."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from copilot.drafting.render import render
from copilot.drafting.spec import parse_spec
from copilot.scopes import load_catalog
from copilot.scopes.client import GatewaySettings
from copilot.scopes.emulator import create_app
from copilot.scopes.emulator_config import EmulatorConfig
from copilot.scopes.keys import generate_keypair, load_jwks
from copilot.scopes.server import BackgroundServer, echo_backend_app
from tests.drafting.specs import FLAGSHIP_SCOPES, flagship
from tests.workflows.test_drafting_workflow import HISTORIES, save_history
from workflows.runtime.dryrun_child import find_test_server
from workflows.runtime.gateway_activity import GatewayActivities
from workflows.runtime.loader import draft_worker, load_draft_module
from workflows.runtime.shared import TASK_QUEUE, ApprovalDecision, StepStatus

DRAFTED_HISTORY = "drafted_flagship_approved.json"


async def _exercise(tmp: Path) -> dict:
    catalog = load_catalog()
    key = generate_keypair(tmp / "keys")
    draft = load_draft_module(render(parse_spec(flagship()), FLAGSHIP_SCOPES), tmp / "module")
    calls: list[dict] = []
    out: dict = {}
    with BackgroundServer(echo_backend_app()) as backend:
        config = EmulatorConfig(
            catalog=catalog,
            jwks=load_jwks(key.jwks_path),
            audience="aud",
            issuer="iss",
            backends={"*": backend.url},
            spike_arrest=None,
        )
        with BackgroundServer(create_app(config)) as gateway:
            settings = GatewaySettings(gateway.url, key.ref, "iss", "aud", "test", FLAGSHIP_SCOPES)
            env = await WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=find_test_server()
            )
            async with (
                env,
                draft_worker(
                    env.client, draft, GatewayActivities(catalog, settings, observer=calls.append)
                ),
            ):
                handle = await env.client.start_workflow(
                    draft.workflow_type,
                    draft.input_class(order_id="ORD-7", amount=20000.0),
                    id="approval-test",
                    task_queue=TASK_QUEUE,
                    execution_timeout=timedelta(days=3),
                )
                for _ in range(500):
                    status = await handle.query("status", result_type=StepStatus)
                    if status.kind == "approval":
                        break
                    await asyncio.sleep(0.01)
                out["status"] = status
                for bad in (
                    ApprovalDecision("ship", "approve", "alice"),
                    ApprovalDecision("manager_approval", "maybe", "alice"),
                    ApprovalDecision("manager_approval", "approve", ""),
                ):
                    try:
                        await handle.execute_update("decide", bad, result_type=str)
                        out.setdefault("accepted", []).append(bad)
                    except WorkflowUpdateFailedError as exc:
                        out.setdefault("refused", []).append(str(exc.cause))
                good = ApprovalDecision("manager_approval", "approve", "alice", "ship it")
                out["answer"] = await handle.execute_update("decide", good, result_type=str)
                out["result"] = await handle.result()
                out["history"] = await handle.fetch_history()
    out["calls"] = calls
    return out


@pytest.mark.slow
def test_only_a_well_formed_decision_for_the_pending_step_is_accepted(tmp_path: Path) -> None:
    out = asyncio.run(_exercise(tmp_path))
    assert out["status"].step == "manager_approval" and out["status"].approver == "manager"
    assert out["status"].prompt == "Approve order ORD-7?"
    assert "accepted" not in out and len(out["refused"]) == 3
    assert out["answer"] == "approve"
    assert out["result"]["results"]["manager_approval"] == {
        "outcome": "approve",
        "reviewer": "alice",
        "comment": "ship it",
    }
    assert [c["operation"] for c in out["calls"]] == ["orders.get", "fulfilment.create_shipment"]
    save_history(DRAFTED_HISTORY, out["history"])
    _replay(out["history"], tmp_path)


def _replay(history: WorkflowHistory, tmp: Path) -> None:
    """Replay against the code today's renderer makes of the flagship spec."""
    draft = load_draft_module(render(parse_spec(flagship()), FLAGSHIP_SCOPES), tmp / "replay")
    asyncio.run(Replayer(workflows=[draft.workflow_class]).replay_workflow(history))


@pytest.mark.slow
def test_the_committed_drafted_history_replays_against_todays_renderer(tmp_path: Path) -> None:
    """A renderer change that would break running drafted workflows fails here."""
    text = (HISTORIES / DRAFTED_HISTORY).read_text(encoding="utf-8")
    _replay(WorkflowHistory.from_json("drafted-fixture", text), tmp_path)


def test_the_handler_refuses_a_second_decision_even_when_both_passed_the_validator(
    tmp_path: Path,
) -> None:
    """Two updates in one activation may both pass the validator before either handler runs
    (that is how the SDK may schedule them); the handler alone must then keep the first."""
    draft = load_draft_module(render(parse_spec(flagship()), FLAGSHIP_SCOPES), tmp_path)
    instance = draft.workflow_class()
    instance._status = StepStatus("manager_approval", "approval")
    first = ApprovalDecision("manager_approval", "reject", "bob")
    second = ApprovalDecision("manager_approval", "approve", "alice")
    instance.validate_decide(first)
    instance.validate_decide(second)  # both validators pass: nothing is decided yet
    assert asyncio.run(instance.decide(first)) == "reject"
    with pytest.raises(ApplicationError, match="already decided: reject by bob") as refused:
        asyncio.run(instance.decide(second))
    assert refused.value.type == "DecisionRefused" and refused.value.non_retryable
    assert instance._decisions["manager_approval"] is first


def test_a_decision_after_the_approval_timed_out_is_refused(tmp_path: Path) -> None:
    draft = load_draft_module(render(parse_spec(flagship()), FLAGSHIP_SCOPES), tmp_path)
    instance = draft.workflow_class()
    # What the approval leaves behind when its wait times out (the status still names it).
    instance._status = StepStatus("manager_approval", "approval")
    instance._decisions["manager_approval"] = ApprovalDecision(
        "manager_approval", "timeout", "", ""
    )
    late = ApprovalDecision("manager_approval", "approve", "alice")
    with pytest.raises(ValueError, match="approval manager_approval already timed out"):
        instance.validate_decide(late)
    with pytest.raises(ApplicationError, match="already timed out"):
        asyncio.run(instance.decide(late))
