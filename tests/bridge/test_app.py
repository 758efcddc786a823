"""The bridge on a real Temporal dev server, alone and behind the gateway emulator:
identity reaches Temporal, refusals never do, the token goes nowhere."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from temporalio.client import Client

from copilot.bridge.identity import (
    CALLER,
    CLIENT_ID,
    HEADER,
    MESSAGE_ID,
    SCOPES,
    caller_from_headers,
)
from tests.workflows.devserver import DevServer

from .conftest import QUEUE, Keys, LogLines, Running, ThreadWorker, mint

pytestmark = pytest.mark.slow
SENT: list[str] = []  # every response body this module received, for the token grep
TOKENS: list[str] = []  # every token this module sent


def _token(keys: Keys, **claims: Any) -> str:
    TOKENS.append(mint(keys, **claims))
    return TOKENS[-1]


def _call(
    url: str, method: str, path: str, token: str | None, body: Any = None, **headers: str
) -> httpx.Response:
    if token:
        headers["Authorization"] = f"Bearer {token}"  # the gateway forwards it to the bridge
    content = (
        None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    response = httpx.request(
        method, url + path, headers=headers, content=content, trust_env=False, timeout=30
    )
    SENT.append(response.text)
    return response


def _raw(url: str, method: str, target: str, headers: dict[str, str]) -> tuple[int, dict]:
    """Send a request target byte for byte (httpx would normalise dot segments)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, target, body=b"{}", headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        SENT.append(text)
        return response.status, json.loads(text)
    finally:
        conn.close()


def _code(response: httpx.Response) -> tuple[int, str]:
    fault = response.json()["fault"]
    assert set(fault) == {"faultstring", "detail"} and fault["faultstring"]
    return response.status_code, fault["detail"]["errorcode"]


def _temporal(address: str, action: Callable[[Client], Any]) -> Any:
    async def go() -> Any:
        return await action(await Client.connect(address))

    return asyncio.run(go())


@pytest.fixture(scope="module")
def worker(server: DevServer) -> Iterator[ThreadWorker]:
    running = ThreadWorker(server.address, QUEUE).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def front(server: DevServer, start_bridge: Callable[..., Running], bridge_log: LogLines) -> Running:
    """The bridge behind the emulator (``gateway`` + ``/bridge`` is the public URL)."""
    return start_bridge(server.address, gateway=True, extra='public_base_path = "/bridge"')


def _wait_for(check: Callable[[], Any], what: str, timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_a_start_signal_and_update_through_the_gateway_carry_the_callers_identity(
    front: Running, worker: ThreadWorker, keys: Keys, server: DevServer
) -> None:
    token = _token(keys)
    public = front.gateway + "/bridge"
    started = _call(public, "POST", "/v1/workflows/OrderApproval", token, {"order_id": "o-1"},
                    **{"X-Apigee-Message-Id": "rrt-4711-1"})  # fmt: skip
    assert started.status_code == 202, started.text
    doc = started.json()
    assert set(doc) == {"workflow_id", "run_id", "namespace", "status_url"}
    assert (
        doc["namespace"] == "default"
        and doc["status_url"] == f"/bridge/v1/workflows/{doc['workflow_id']}"
    )
    wid = doc["workflow_id"]

    signal = _call(public, "POST", f"/v1/workflows/{wid}/signals/approve", token, {"note": "ok"})
    assert signal.status_code == 202 and signal.json()["accepted"] is True
    update = _call(
        public, "POST", f"/v1/workflows/{wid}/updates/decide", token, {"outcome": "approve"}
    )
    assert update.status_code == 200, update.text
    assert update.json()["result"] == "decided approve"

    status = _wait_for(
        lambda: (
            (r := _call(public, "GET", f"/v1/workflows/{wid}", token)).json().get("status")
            == "COMPLETED"
            and r
        ),
        "the workflow to complete",
    )
    assert status.json()["result"] == {
        "order": "o-1",
        "decision": "approve",
        "signals": ["approve"],
        "started_by": "alice@example.test",  # read from the header by a workflow interceptor
    }

    async def inspect(client: Client) -> tuple[dict, Any, list]:
        described = await client.get_workflow_handle(wid).describe()
        history = await client.get_workflow_handle(wid).fetch_history()
        return await described.memo(), described.typed_search_attributes, history.events

    memo, attributes, events = _temporal(server.address, inspect)
    caller = {"sub": "alice@example.test", "iss": "https://idp.example.test/", "client_id": "app-7",
              "scopes": ["orders.approve"], "apigee_message_id": "rrt-4711-1"}  # fmt: skip
    assert memo == {"kind": "bridge-start", "caller": caller}
    assert attributes.get(CALLER) == "alice@example.test"
    assert attributes.get(CLIENT_ID) == "app-7" and attributes.get(MESSAGE_ID) == "rrt-4711-1"
    assert attributes.get(SCOPES) == ["orders.approve"]
    started_event = events[0].workflow_execution_started_event_attributes
    assert caller_from_headers(started_event.header.fields) == caller
    signalled = [
        e.workflow_execution_signaled_event_attributes
        for e in events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert caller_from_headers(signalled[0].header.fields)["sub"] == "alice@example.test"
    assert HEADER in started_event.header.fields

    async def listed(client: Client) -> list[str]:
        return [w.id async for w in client.list_workflows('AtcCaller = "alice@example.test"')]

    _wait_for(lambda: wid in _temporal(server.address, listed), "visibility to list the start")


def test_an_update_its_validator_refuses_is_422_with_the_reason(
    front: Running, worker: ThreadWorker, keys: Keys
) -> None:
    token = _token(keys)
    wid = _call(
        front.url, "POST", "/v1/workflows/OrderApproval", token, {"order_id": "o-2"}
    ).json()["workflow_id"]
    refused = _call(
        front.url, "POST", f"/v1/workflows/{wid}/updates/decide", token, {"outcome": "maybe"}
    )
    assert _code(refused) == (422, "atc.bridge.UpdateRefused")
    assert "outcome must be approve or reject" in refused.json()["fault"]["faultstring"]


def _refusals(keys: Keys) -> list[tuple[str, str, str, dict, tuple[int, str]]]:
    now = int(time.time())
    good = _token(keys)
    return [
        ("namespace not mapped", "POST", "/v1/workflows/OrderApproval",
         {"token": _token(keys, scope="billing.run")}, (403, "atc.bridge.NoRouteForCaller")),
        ("forbidden type", "POST", "/v1/workflows/PaymentRun", {"token": good}, (403, "atc.bridge.NotGranted")),
        ("forbidden signal", "POST", "/v1/workflows/any-id/signals/cancel", {"token": good}, (403, "atc.bridge.NotGranted")),
        ("forbidden update", "POST", "/v1/workflows/any-id/updates/escalate", {"token": good}, (403, "atc.bridge.NotGranted")),
        ("expired token", "POST", "/v1/workflows/OrderApproval",
         {"token": _token(keys, iat=now - 4000, nbf=now - 4000, exp=now - 3600)}, (401, "steps.jwt.TokenExpired")),
        ("no scope claim", "POST", "/v1/workflows/OrderApproval",
         {"token": mint(keys, drop=("scope",))}, (403, "atc.bridge.NoRouteForCaller")),
        ("untrusted key", "POST", "/v1/workflows/OrderApproval",
         {"token": mint(keys, stranger=True)}, (401, "steps.jwt.NoMatchingPublicKey")),
        ("other audience", "POST", "/v1/workflows/OrderApproval",
         {"token": mint(keys, aud="someone-else")}, (401, "steps.jwt.InvalidClaim")),
        ("bare identity headers", "POST", "/v1/workflows/OrderApproval",
         {"headers": {"X-Atc-Subject": "alice@example.test", "X-Apigee-Client-Id": "app-7"}},
         (401, "steps.jwt.FailedToResolveVariable")),
        ("secret in the input", "POST", "/v1/workflows/OrderApproval",
         {"token": good, "body": {"order_id": "o", "auth": f"Bearer {good}"}}, (422, "atc.bridge.InputRefused")),
        ("PEM in the input", "POST", "/v1/workflows/OrderApproval",
         {"token": good, "body": {"k": "-----BEGIN RSA PRIVATE KEY-----\nMIIE"}}, (422, "atc.bridge.InputRefused")),
        ("body too large", "POST", "/v1/workflows/OrderApproval",
         {"token": good, "body": {"pad": "x" * 5000}}, (413, "atc.bridge.PayloadTooLarge")),
        ("not JSON", "POST", "/v1/workflows/OrderApproval", {"token": good, "body": b"{oops"}, (400, "atc.bridge.InvalidJson")),
        ("unknown path", "GET", "/v1/admin", {"token": good}, (404, "atc.bridge.NotFound")),
        ("wrong method", "DELETE", "/v1/workflows/x", {"token": good}, (405, "atc.bridge.MethodNotAllowed")),
    ]  # fmt: skip


def test_refusals_are_apigee_shaped_and_never_reach_temporal(front: Running, keys: Keys) -> None:
    before = front.bridge.calls.total()
    for name, method, path, how, expected in _refusals(keys):
        response = _call(
            front.url, method, path, how.get("token"), how.get("body"), **how.get("headers", {})
        )
        assert _code(response) == expected, (name, response.text)
    assert front.bridge.calls.total() == before


# Through the gateway the emulator refuses first what its products or VerifyJWT refuse.
_AT_THE_GATEWAY = {
    "namespace not mapped": (403, "steps.oauth.v2.InsufficientScope"),
    "forbidden type": (403, "steps.oauth.v2.InsufficientScope"),
    "forbidden signal": (403, "steps.oauth.v2.InsufficientScope"),
    "forbidden update": (403, "steps.oauth.v2.InsufficientScope"),
    "no scope claim": (401, "steps.jwt.InvalidClaim"),
    "unknown path": (404, "messaging.adaptors.http.flow.ApplicationNotFound"),
    "wrong method": (403, "steps.oauth.v2.InsufficientScope"),
}


def test_the_same_refusals_through_the_gateway_never_reach_temporal(
    front: Running, keys: Keys
) -> None:
    before = front.bridge.calls.total()
    for name, method, path, how, expected in _refusals(keys):
        prefix = "" if name == "unknown path" else "/bridge"
        response = _call(front.gateway + prefix, method, path, how.get("token"), how.get("body"),
                         **how.get("headers", {}))  # fmt: skip
        assert _code(response) == _AT_THE_GATEWAY.get(name, expected), (name, response.text)
    assert front.bridge.calls.total() == before


@pytest.mark.parametrize(
    "target",
    [
        "/v1/workflows/../workflows/OrderApproval",
        "/v1/workflows/./OrderApproval",
        "/v1/workflows/%2e%2e/OrderApproval",
        "/v1/workflows/abc%2Fsignals%2Fapprove",
        "/v1/workflows/abc/signals/approve%2F..",
        "//v1/workflows/OrderApproval",
        "/v1//workflows/OrderApproval",
        "/v1/workflows/OrderApproval/",
        "/v1/workflows/OrderApproval?as=admin",
        "/v1/workflows\\OrderApproval",
    ],
)
def test_a_smuggled_path_is_refused_before_temporal_directly_and_through_the_gateway(
    front: Running, keys: Keys, target: str
) -> None:
    token = _token(keys)
    before = front.bridge.calls.total()
    headers = {"Authorization": f"Bearer {token}"}
    status, body = _raw(front.url, "POST", target, headers)
    assert status == 400 and body["fault"]["detail"]["errorcode"] == "atc.bridge.AmbiguousRequest"
    status, body = _raw(front.gateway, "POST", "/bridge" + target, headers)
    assert status in (400, 404) and "fault" in body
    assert front.bridge.calls.total() == before


def test_the_gateway_refuses_what_the_products_do_not_grant_and_passes_what_the_bridge_refuses(
    front: Running, keys: Keys
) -> None:
    public = front.gateway + "/bridge"
    before = front.bridge.calls.total()
    token = _token(keys)
    assert _code(_call(public, "POST", "/v1/workflows/PaymentRun", token, {})) == (
        403,
        "steps.oauth.v2.InsufficientScope",
    )
    assert _code(_call(public, "POST", "/v1/workflows/x/signals/cancel", token, {})) == (
        403,
        "steps.oauth.v2.InsufficientScope",
    )
    expired = _token(
        keys, iat=int(time.time()) - 4000, nbf=int(time.time()) - 4000, exp=int(time.time()) - 3600
    )
    assert _code(_call(public, "POST", "/v1/workflows/OrderApproval", expired, {}))[0] == 401
    secret = _call(
        public, "POST", "/v1/workflows/OrderApproval", token, {"aws": "AKIAIOSFODNN7EXAMPLE"}
    )
    assert _code(secret) == (422, "atc.bridge.InputRefused")
    assert "AWS access key" in secret.json()["fault"]["faultstring"]
    assert front.bridge.calls.total() == before


def test_a_caller_cannot_smuggle_its_own_caller_token_header_through_the_gateway(
    front: Running, keys: Keys, server: DevServer
) -> None:
    """The bridge acts on the token the gateway verified, whatever X-Atc-Caller-Token a client sends."""
    public = front.gateway + "/bridge"
    alice, mallory = _token(keys), _token(keys, sub="mallory@example.test", client_id="app-9")
    smuggled = {
        "another caller's valid token": ("X-Atc-Caller-Token", mallory),
        "garbage": ("X-Atc-Caller-Token", "not-a-token"),
        "a Bearer-prefixed token": ("x-atc-caller-token", f"Bearer {mallory}"),
        "the underscore spelling": ("X_Atc_Caller_Token", mallory),
    }
    for what, (name, value) in smuggled.items():
        started = _call(public, "POST", "/v1/workflows/OrderApproval", alice, {"order_id": "s"},
                        **{name: value})  # fmt: skip
        assert started.status_code == 202, (what, started.text)

        async def memo(client: Client, wid: str = started.json()["workflow_id"]) -> dict:
            return await (await client.get_workflow_handle(wid).describe()).memo()

        caller = _temporal(server.address, memo)["caller"]
        assert (caller["sub"], caller["client_id"]) == ("alice@example.test", "app-7"), what
    before = front.bridge.calls.total()
    alone = _call(public, "POST", "/v1/workflows/OrderApproval", None, {"order_id": "s"},
                  **{"X-Atc-Caller-Token": alice})  # fmt: skip
    assert _code(alone) == (401, "steps.jwt.FailedToResolveVariable")  # the gateway's VerifyJWT
    assert front.bridge.calls.total() == before


def test_a_caller_reaches_only_workflows_of_its_granted_types_in_its_namespace(
    front: Running, keys: Keys, server: DevServer
) -> None:
    async def start_other(client: Client) -> str:
        handle = await client.start_workflow(
            "PaymentRun", id=f"payment-{time.time_ns()}", task_queue="payments-q"
        )
        return handle.id

    other = _temporal(server.address, start_other)
    token = _token(keys)
    assert _code(_call(front.url, "GET", f"/v1/workflows/{other}", token)) == (
        403,
        "atc.bridge.NotGranted",
    )
    assert _code(_call(front.url, "POST", f"/v1/workflows/{other}/signals/approve", token, {})) == (
        403,
        "atc.bridge.NotGranted",
    )
    assert _code(_call(front.url, "GET", "/v1/workflows/no-such-workflow", token)) == (
        404,
        "atc.bridge.WorkflowNotFound",
    )


def test_scp_arrays_and_groups_pick_their_route(front: Running, keys: Keys) -> None:
    payments = _token(
        keys, drop=("scope",), scp=["payments.run", "profile"], groups=["payments-team"]
    )
    response = _call(front.url, "POST", "/v1/workflows/PaymentRun", payments, {"amount": 3})
    # the payments route maps to a namespace the dev server does not have: Temporal says so
    assert _code(response) == (404, "atc.bridge.NamespaceNotFound"), response.text
    no_group = _token(keys, drop=("scope",), scp=["payments.run"])
    assert _code(_call(front.url, "POST", "/v1/workflows/PaymentRun", no_group, {})) == (
        403,
        "atc.bridge.NoRouteForCaller",
    )


def test_a_retried_post_returns_the_same_run_and_keys_are_per_caller(
    front: Running, keys: Keys, server: DevServer
) -> None:
    alice, bob = _token(keys), _token(keys, sub="bob@example.test")
    key = {"Idempotency-Key": f"order-{time.time_ns()}"}
    first = _call(
        front.url, "POST", "/v1/workflows/OrderApproval", alice, {"order_id": "o-3"}, **key
    )
    again = _call(
        front.url, "POST", "/v1/workflows/OrderApproval", alice, {"order_id": "o-3"}, **key
    )
    other = _call(front.url, "POST", "/v1/workflows/OrderApproval", bob, {"order_id": "o-3"}, **key)
    assert first.status_code == again.status_code == other.status_code == 202
    assert first.json() == again.json() and again.headers["Idempotent-Replayed"] == "true"
    assert other.json()["workflow_id"] != first.json()["workflow_id"]

    async def terminate(client: Client) -> None:
        await client.get_workflow_handle(first.json()["workflow_id"]).terminate("test")

    _temporal(server.address, terminate)
    closed = _call(
        front.url, "POST", "/v1/workflows/OrderApproval", alice, {"order_id": "o-3"}, **key
    )
    assert closed.status_code == 202 and closed.json() == first.json()
    bad = _call(
        front.url,
        "POST",
        "/v1/workflows/OrderApproval",
        alice,
        {},
        **{"Idempotency-Key": "x" * 201},
    )
    assert _code(bad) == (400, "atc.bridge.InvalidIdempotencyKey")


def test_the_apigee_message_id_can_be_the_idempotency_key(
    server: DevServer, start_bridge: Callable[..., Running], keys: Keys
) -> None:
    running = start_bridge(server.address, extra="message_id_idempotency = true")
    token, message = _token(keys), {"X-Apigee-Message-Id": f"rrt-{time.time_ns()}-1"}
    first = _call(
        running.url, "POST", "/v1/workflows/OrderApproval", token, {"order_id": "m"}, **message
    )
    again = _call(
        running.url, "POST", "/v1/workflows/OrderApproval", token, {"order_id": "m"}, **message
    )
    other = _call(running.url, "POST", "/v1/workflows/OrderApproval", token, {"order_id": "m"})
    assert first.status_code == again.status_code == other.status_code == 202
    assert (
        first.json() == again.json() and other.json()["workflow_id"] != first.json()["workflow_id"]
    )


def test_a_saturated_bridge_answers_503_with_retry_after(
    server: DevServer, start_bridge: Callable[..., Running], keys: Keys
) -> None:
    running = start_bridge(
        server.address, extra="max_in_flight = 2\nqueue_wait_s = 0\nretry_after_s = 3"
    )
    token = _token(keys)
    held = [running.bridge.admission.try_enter() for _ in range(2)]
    assert held == [True, True]
    busy = _call(running.url, "POST", "/v1/workflows/OrderApproval", token, {"order_id": "o-4"})
    assert _code(busy) == (503, "atc.bridge.Saturated") and busy.headers["Retry-After"] == "3"
    assert running.bridge.calls.total() == 0
    running.bridge.admission.leave()
    assert (
        _call(
            running.url, "POST", "/v1/workflows/OrderApproval", token, {"order_id": "o-4"}
        ).status_code
        == 202
    )


def test_health_says_whether_temporal_answers(
    front: Running, start_bridge: Callable[..., Running], keys: Keys
) -> None:
    assert _call(front.url, "GET", "/healthz", None).json() == {"ok": True, "temporal": "up"}
    dead = start_bridge("127.0.0.1:9")
    down = _call(dead.url, "GET", "/healthz", None)
    assert down.status_code == 503 and down.json()["ok"] is False
    start = _call(dead.url, "POST", "/v1/workflows/OrderApproval", _token(keys), {"order_id": "o"})
    assert _code(start) == (503, "atc.bridge.TemporalUnavailable") and start.headers["Retry-After"]


def test_no_token_in_history_logs_or_responses(
    front: Running, server: DevServer, bridge_log: LogLines
) -> None:
    """Runs last in this module: greps everything the tests above produced."""
    assert TOKENS and SENT and bridge_log.lines

    async def histories(client: Client) -> list[str]:
        out = []
        async for wf in client.list_workflows():
            history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
            out.append(json.dumps(history.to_json_dict()))
        return out

    texts = _temporal(server.address, histories) + SENT + bridge_log.lines
    assert len(texts) > len(SENT)
    for token in TOKENS:
        signature = token.rsplit(".", 1)[1]
        assert not [t for t in texts if token in t or signature in t]
