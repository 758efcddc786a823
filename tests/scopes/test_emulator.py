"""The local gateway emulator over real HTTP: Apigee-shaped refusals and forwarding."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from copilot.scopes import Catalog
from copilot.scopes.emulator import create_app
from copilot.scopes.emulator_config import EmulatorConfig
from copilot.scopes.headers import header_key
from copilot.scopes.keys import load_jwks
from copilot.scopes.server import BackgroundServer, echo_backend_app
from copilot.scopes.tokens import mint_token

from .conftest import AUDIENCE, ISSUER, Keys, RunningGateway

pytestmark = pytest.mark.slow  # the gateway emulator served on loopback


def _token(keys: Keys, scopes: str = "orders.read", **overrides: object) -> str:
    args: dict = dict(issuer=ISSUER, audience=AUDIENCE, subject="wf-9", scopes=scopes)
    args.update(overrides)
    key = str(args.pop("key", keys.rsa.ref))
    return mint_token(key, **args)


def _get(url: str, path: str, token: str | None = None, **headers: str) -> httpx.Response:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.get(url + path, headers=headers, trust_env=False)


def _fault(response: httpx.Response) -> tuple[int, str]:
    fault = response.json()["fault"]
    assert set(fault) == {"faultstring", "detail"} and fault["faultstring"]
    return response.status_code, fault["detail"]["errorcode"]


def _raw(url: str, method: str, target: str, headers: dict[str, str]) -> tuple[int, dict]:
    """Send a request target byte for byte (httpx would normalise it)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, target, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def shared(catalog: Catalog, keys: Keys, echo_backend: str) -> Iterator[RunningGateway]:
    """One emulator for the tests that need no special configuration."""
    config = EmulatorConfig(
        catalog=catalog,
        jwks=load_jwks(keys.rsa.jwks_path),
        audience=AUDIENCE,
        issuer=ISSUER,
        backends={"fulfilment": echo_backend, "customers": "http://127.0.0.1:9"},
        spike_arrest=None,
    )
    app = create_app(config)
    with BackgroundServer(app) as server:
        yield RunningGateway(server.url, app.state.emulator)


def test_a_request_without_a_token_is_refused_like_verifyjwt(
    shared: RunningGateway,
) -> None:
    gw = shared
    assert _fault(_get(gw.url, "/v1/orders/1")) == (401, "steps.jwt.FailedToResolveVariable")
    assert _fault(_get(gw.url, "/v1/orders/1", Authorization="Basic x")) == (
        401,
        "steps.jwt.FailedToResolveVariable",
    )


@pytest.mark.parametrize(
    ("overrides", "errorcode"),
    [
        ({"now": time.time() - 3600}, "steps.jwt.TokenExpired"),
        ({"now": time.time() + 3600}, "steps.jwt.TokenNotYetValid"),
        ({"audience": "another-gateway"}, "steps.jwt.InvalidClaim"),
        ({"issuer": "another-issuer"}, "steps.jwt.InvalidClaim"),
        ({"key": "stranger"}, "steps.jwt.NoMatchingPublicKey"),
    ],
)
def test_bad_tokens_get_the_verifyjwt_fault_codes(
    shared: RunningGateway, keys: Keys, overrides: dict, errorcode: str
) -> None:
    if overrides.get("key") == "stranger":
        overrides = {"key": keys.stranger.ref}
    gw = shared
    response = _get(gw.url, "/v1/orders/1", _token(keys, **overrides))
    assert _fault(response) == (401, errorcode)


def test_a_garbage_token_is_refused(shared: RunningGateway) -> None:
    gw = shared
    assert _fault(_get(gw.url, "/v1/orders/1", "not.a.jwt")) == (401, "steps.jwt.FailedToDecode")


def test_a_valid_token_reaches_only_what_its_scopes_grant(
    shared: RunningGateway, keys: Keys
) -> None:
    gw = shared
    token = _token(keys, "orders.read")
    ok = _get(gw.url, "/v1/orders/ORD-1/items?expand=sku", token)
    assert ok.status_code == 200
    assert ok.json()["pathsuffix"] == "/ORD-1/items" and ok.json()["query"] == "expand=sku"
    assert ok.json()["scopes"] == ["orders.read"] and ok.json()["subject"] == "wf-9"
    denied = httpx.patch(
        gw.url + "/v1/orders/ORD-1", headers={"Authorization": f"Bearer {token}"}, trust_env=False
    )
    assert _fault(denied) == (403, "steps.oauth.v2.InsufficientScope")
    assert "PATCH there needs scope orders.write" in denied.json()["fault"]["faultstring"]


def test_scopes_in_an_scp_array_grant_like_a_scope_string(shared: RunningGateway, keys: Keys) -> None:
    token = _token(keys, "orders.read payments.refund", scope_claim="scp")
    allowed = _get(shared.url, "/v1/orders/42", token)
    assert allowed.status_code == 200
    assert allowed.json()["scopes"] == ["orders.read", "payments.refund"]
    assert _fault(_get(shared.url, "/v1/orders/42/admin", token)) == (
        403, "steps.oauth.v2.InsufficientScope",
    )  # fmt: skip
    assert _fault(_get(shared.url, "/v1/customers/1", token)) == (
        403, "steps.oauth.v2.InsufficientScope",
    )  # fmt: skip


def test_es256_tokens_from_the_same_jwks_are_accepted(shared: RunningGateway, keys: Keys) -> None:
    gw = shared
    assert _get(gw.url, "/v1/orders/1", _token(keys, key=keys.ec.ref)).status_code == 200


def test_an_unknown_base_path_is_application_not_found(shared: RunningGateway, keys: Keys) -> None:
    gw = shared
    response = _get(gw.url, "/v9/secrets", _token(keys))
    assert _fault(response) == (404, "messaging.adaptors.http.flow.ApplicationNotFound")


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        ("/v1/orders/../payments/1", {}),
        ("/v1/orders/%2e%2e/payments/1", {}),
        ("/v1/orders/%252e%252e/payments/1", {}),
        ("/v1/orders//1", {}),
        ("/v1/orders/1;x=y", {}),
        ("/v1/orders/1/", {}),
        ("/v1/orders/1\\..\\..\\payments", {}),
        ("/v1/orders/1", {"X-HTTP-Method-Override": "DELETE"}),
        ("/v1/orders/1", {"X-Original-URL": "/v1/payments/1/refund"}),
        ("/v1/orders?next=/v1/payments/1", {}),
    ],
)
def test_ambiguous_requests_are_refused_before_anything_else(
    shared: RunningGateway, keys: Keys, target: str, headers: dict
) -> None:
    gw = shared
    token = _token(keys, "orders.read orders.write payments.read payments.refund")
    status, body = _raw(gw.url, "GET", target, {"Authorization": f"Bearer {token}", **headers})
    assert (status, body["fault"]["detail"]["errorcode"]) == (400, "atc.gateway.AmbiguousRequest")


def test_spike_arrest_smooths_per_proxy_and_says_when_to_retry(
    start_gateway: Callable[..., RunningGateway], keys: Keys
) -> None:
    gw = start_gateway(spike_arrest="1pm")
    token = _token(keys, "orders.read catalog.read")
    assert _get(gw.url, "/v1/orders/1", token).status_code == 200
    limited = _get(gw.url, "/v1/orders/2", token)
    assert _fault(limited) == (429, "policies.ratelimit.SpikeArrestViolation")
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert "messagesPerPeriod=1" in limited.json()["fault"]["faultstring"]
    assert _get(gw.url, "/v1/catalog/search?q=x", token).status_code == 200


def test_requests_are_forwarded_to_the_backend_without_the_token(
    shared: RunningGateway, keys: Keys
) -> None:
    gw = shared
    token = _token(keys, "fulfilment.write")
    response = httpx.post(
        gw.url + "/v1/fulfilment/shipments?reason=dup",
        json={"note": "customer asked"},
        headers={"Authorization": f"Bearer {token}", "X-Request-Id": "r-1"},
        trust_env=False,
    )
    echoed = response.json()
    assert response.status_code == 201 and echoed["echo"] is True
    assert echoed["path"] == "/shipments" and echoed["query"] == "reason=dup"
    assert echoed["body"] == {"note": "customer asked"}
    assert echoed["authorization_forwarded"] is False
    assert echoed["headers"]["x-atc-subject"] == "wf-9"
    assert echoed["headers"]["x-request-id"] == "r-1"


def test_an_unreachable_backend_is_service_unavailable(shared: RunningGateway, keys: Keys) -> None:
    response = _get(shared.url, "/v1/customers/1", _token(keys, "customers.read"))
    assert _fault(response) == (503, "messaging.adaptors.http.flow.ServiceUnavailable")


def test_the_emulator_keeps_a_log_of_its_decisions(shared: RunningGateway, keys: Keys) -> None:
    before = len(shared.emulator.log)
    _get(shared.url, "/v1/orders/1", _token(keys))
    _get(shared.url, "/v1/payments/1", _token(keys))
    log = list(shared.emulator.log)[before:]
    assert [(e["target"], e["status"]) for e in log] == [
        ("/v1/orders/1", 200),
        ("/v1/payments/1", 403),
    ]
    assert "needs scope payments.read" in log[1]["note"]


# --- Idempotency-Key: a retried POST is answered, not repeated ---------------


@pytest.fixture
def counted(
    start_gateway: Callable[..., RunningGateway],
) -> Iterator[tuple[RunningGateway, list[dict]]]:
    """An emulator in front of an echo backend that counts what reached it."""
    backend = echo_backend_app()
    with BackgroundServer(backend) as server:
        yield start_gateway(backends={"*": server.url}), backend.state.hits


def _post(
    gw: RunningGateway, keys: Keys, path: str, body: dict, key: str | None, **headers: str
) -> httpx.Response:
    token = _token(keys, "orders.write fulfilment.write", **headers.pop("token", {}))
    sent = {"Authorization": f"Bearer {token}", **headers}
    if key is not None:
        sent["Idempotency-Key"] = key
    return httpx.post(gw.url + path, json=body, headers=sent, trust_env=False)


def test_a_repeated_post_with_the_same_key_reaches_the_backend_once(counted, keys: Keys) -> None:
    gw, hits = counted
    first = _post(gw, keys, "/v1/orders", {"sku": "A-1"}, "wf-1/charge")
    again = _post(gw, keys, "/v1/orders", {"sku": "A-1"}, "wf-1/charge")
    assert len(hits) == 1
    assert (
        (again.status_code, again.content)
        == (first.status_code, first.content)
        == (
            201,
            first.content,
        )
    )
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert first.json()["body"] == {"sku": "A-1"}


@pytest.mark.parametrize(
    ("path", "body", "differs"),
    [
        ("/v1/orders", {"sku": "B-2"}, "another body"),
        ("/v1/orders/1/cancel", {"sku": "A-1"}, "another path"),
    ],
)
def test_the_same_key_on_another_request_is_refused_with_422(
    counted, keys: Keys, path: str, body: dict, differs: str
) -> None:
    gw, hits = counted
    assert _post(gw, keys, "/v1/orders", {"sku": "A-1"}, "k-1").status_code == 201
    refused = _post(gw, keys, path, body, "k-1")
    assert _fault(refused) == (422, "atc.gateway.IdempotencyKeyReused")
    assert differs in refused.json()["fault"]["faultstring"]
    assert len(hits) == 1


def test_the_same_key_with_another_method_is_refused(counted, keys: Keys) -> None:
    gw, hits = counted
    token = _token(keys, "orders.write")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k-2"}
    assert _post(gw, keys, "/v1/orders/7/cancel", {}, "k-2").status_code == 201
    patched = httpx.patch(gw.url + "/v1/orders/7", json={}, headers=headers, trust_env=False)
    assert _fault(patched) == (422, "atc.gateway.IdempotencyKeyReused")
    assert "another method" in patched.json()["fault"]["faultstring"] and len(hits) == 1


def test_keys_belong_to_one_token_subject(counted, keys: Keys) -> None:
    gw, hits = counted
    _post(gw, keys, "/v1/orders", {"sku": "A-1"}, "shared-key")
    other = _post(gw, keys, "/v1/orders", {"sku": "A-1"}, "shared-key", token={"subject": "wf-10"})
    assert other.status_code == 201 and "idempotent-replayed" not in other.headers
    assert len(hits) == 2


def test_requests_without_a_key_and_gets_are_always_forwarded(counted, keys: Keys) -> None:
    gw, hits = counted
    _post(gw, keys, "/v1/orders", {"sku": "A-1"}, None)
    _post(gw, keys, "/v1/orders", {"sku": "A-1"}, None)
    token = _token(keys, "fulfilment.read fulfilment.write")
    for _ in range(2):
        _get(gw.url, "/v1/fulfilment/shipments/s-1", token, **{"Idempotency-Key": "g"})
    assert [h["method"] for h in hits] == ["POST", "POST", "GET", "GET"]


@pytest.mark.parametrize(
    "key", ["", "x" * 201, "caf\u00e9", "a\tb"], ids=["empty", "long", "non-ascii", "tab"]
)
def test_a_malformed_key_is_refused_before_the_backend(counted, keys: Keys, key: str) -> None:
    gw, hits = counted
    token = _token(keys, "orders.write")
    status, body = _raw(
        gw.url,
        "POST",
        "/v1/orders",
        {"Authorization": f"Bearer {token}", "Idempotency-Key": key.encode().decode("latin-1")},
    )
    assert (status, body["fault"]["detail"]["errorcode"]) == (
        400,
        "atc.gateway.InvalidIdempotencyKey",
    )
    assert hits == []


def test_concurrent_duplicates_reach_the_backend_once(counted, keys: Keys) -> None:
    gw, hits = counted
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda _: _post(gw, keys, "/v1/orders", {"n": 1}, "burst"), range(4))
        )
    assert len(hits) == 1
    assert {(a.status_code, a.content) for a in answers} == {(201, answers[0].content)}
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 3


def _flaky_backend() -> Starlette:
    """Answers 503 to the first request, 201 afterwards."""
    calls: list[str] = []

    async def handle(request: Request) -> Response:
        calls.append(request.method)
        if len(calls) == 1:
            return JSONResponse({"error": "warming up"}, status_code=503)
        return JSONResponse({"created": len(calls)}, status_code=201)

    app = Starlette(routes=[Route("/{path:path}", handle, methods=["POST"])])
    app.state.calls = calls
    return app


def test_a_5xx_answer_is_not_remembered_so_a_retry_can_succeed(
    start_gateway: Callable[..., RunningGateway], keys: Keys
) -> None:
    backend = _flaky_backend()
    with BackgroundServer(backend) as server:
        gw = start_gateway(backends={"*": server.url})
        failed = _post(gw, keys, "/v1/orders", {"sku": "A-1"}, "retry-me")
        retried = _post(gw, keys, "/v1/orders", {"sku": "A-1"}, "retry-me")
        replayed = _post(gw, keys, "/v1/orders", {"sku": "A-1"}, "retry-me")
    assert failed.status_code == 503 and retried.status_code == 201
    assert replayed.json() == retried.json() == {"created": 2}
    assert backend.state.calls == ["POST", "POST"]


# --- what never reaches a backend -------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["X_HTTP_METHOD_OVERRIDE", "x-http-method-override", "X_Original_URL", "x-rewrite-url"],
)
def test_override_headers_in_any_spelling_are_refused(
    shared: RunningGateway, keys: Keys, name: str
) -> None:
    token = _token(keys, "orders.read")
    status, body = _raw(
        shared.url, "GET", "/v1/orders/1", {"Authorization": f"Bearer {token}", name: "DELETE"}
    )
    assert (status, body["fault"]["detail"]["errorcode"]) == (400, "atc.gateway.AmbiguousRequest")


def test_hop_by_hop_and_connection_named_headers_are_not_forwarded(counted, keys: Keys) -> None:
    gw, hits = counted
    _post(
        gw,
        keys,
        "/v1/fulfilment/shipments",
        {"n": 1},
        None,
        Connection="keep-alive, X-Hop-Secret",
        **{"X-Hop-Secret": "1", "X_Atc_Subject": "wf-admin", "X-Kept": "yes", "TE": "trailers"},
    )
    forwarded = [(header_key(k), v) for k, v in hits[-1]["headers"]]
    assert ("x-kept", "yes") in forwarded
    assert [v for k, v in forwarded if k == "x-atc-subject"] == ["wf-9"]
    assert not {"x-hop-secret", "te", "authorization"} & {k for k, _ in forwarded}
