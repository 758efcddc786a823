"""The whole flow on loopback: client -> gateway emulator -> bridge -> Temporal ->
drafted workflow (the runs worker) -> gateway -> backend; inputs checked against
the approved spec, a JSON schema for other types."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from copilot.runs.approved import approved_version
from tests.drafting.specs import FLAGSHIP_SCOPES, flagship
from tests.runs.estate import Estate
from tests.workflows.devserver import DevServer, estate_fixture

from .conftest import Keys, Running, mint

pytestmark = pytest.mark.slow


estate = estate_fixture(Estate)


def _post(url: str, path: str, token: str, body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "X-Atc-Caller-Token": token}
    return httpx.post(url + path, headers=headers, json=body, trust_env=False, timeout=30)


def _get(url: str, path: str, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "X-Atc-Caller-Token": token}
    return httpx.get(url + path, headers=headers, trust_env=False, timeout=30).json()


def _code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["fault"]["detail"]["errorcode"]


def test_a_drafted_workflow_starts_through_the_gateway_and_calls_back_through_it(
    estate: Estate, server: DevServer, start_bridge: Callable[..., Running], keys: Keys
) -> None:
    draft_id = estate.draft(flagship(), FLAGSHIP_SCOPES)
    estate.approve(draft_id)
    unapproved = estate.draft(flagship(), FLAGSHIP_SCOPES)
    kind = approved_version(estate.store, draft_id).workflow_type
    other = kind.replace(".v1.", ".v7.")
    estate.worker()
    front = start_bridge(
        server.address, gateway=True, workflows=("OrderApproval", kind, other),
        data_dir=estate.data, runs_task_queue=estate.queue,
    )  # fmt: skip
    public, token = front.gateway + "/bridge", mint(keys)
    assert _code(_post(public, f"/v1/workflows/{kind}", token, {"order_id": 9})) == (
        422,
        "atc.bridge.InputRefused",
    )
    assert (
        _code(
            _post(public, f"/v1/workflows/{kind}", token, {"order_id": "A", "amount": 1, "x": 1})
        )[0]
        == 422
    )
    assert _code(_post(public, f"/v1/workflows/{other}", token, {"order_id": "A"})) == (
        404,
        "atc.bridge.NotApproved",
    )
    assert front.bridge.calls.total() == 0 and unapproved

    started = _post(public, f"/v1/workflows/{kind}", token, {"order_id": "ORD-9", "amount": 12500})
    assert started.status_code == 202, started.text
    wid = started.json()["workflow_id"]
    decision = {
        "step": "manager_approval",
        "outcome": "approve",
        "reviewer": "alice",
        "comment": "",
    }
    deadline = time.monotonic() + 120
    while (
        decided := _post(public, f"/v1/workflows/{wid}/updates/decide", token, decision)
    ).status_code != 200:
        # the update is refused until the run reaches its approval step
        assert decided.status_code == 422 and time.monotonic() < deadline, decided.text
        time.sleep(0.3)
    deadline = time.monotonic() + 120
    while (status := _get(public, f"/v1/workflows/{wid}", token))["status"] != "COMPLETED":
        assert status["status"] == "RUNNING" and time.monotonic() < deadline, status
        time.sleep(0.3)
    assert status["result"]["path"] == ["get_order", "is_large", "manager_approval", "ship"]
    # the drafted workflow's own calls went through the (other) gateway to the backend
    assert [(h["method"], h["path"]) for h in estate.gateway.hits] == [
        ("GET", "/ORD-9"), ("POST", "/shipments"),
    ]  # fmt: skip
    listed = estate.atc("runs", "list", "--draft", draft_id, "--json").doc
    assert [(r["run_id"], r["requested_by"]) for r in listed["runs"]] == [
        (wid, "alice@example.test")
    ]


def test_other_types_are_checked_against_their_json_schema(
    server: DevServer, start_bridge: Callable[..., Running], keys: Keys
) -> None:
    schema = {
        "type": "object",
        "required": ["order_id"],
        "properties": {"order_id": {"type": "string"}},
    }
    running = start_bridge(
        server.address, extra='[bridge.schemas]\nOrderApproval = "order.schema.json"',
        files={"order.schema.json": json.dumps(schema)},
    )  # fmt: skip
    token = mint(keys)
    refused = _post(running.url, "/v1/workflows/OrderApproval", token, {"order": 1})
    assert _code(refused) == (422, "atc.bridge.InputRefused")
    assert "'order_id' is a required property" in refused.json()["fault"]["faultstring"]
    assert running.bridge.calls.total() == 0
    assert (
        _post(running.url, "/v1/workflows/OrderApproval", token, {"order_id": "o"}).status_code
        == 202
    )
