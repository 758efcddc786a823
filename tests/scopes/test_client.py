"""The gateway client: both checks before sending, and every answer classified.

Real HTTP on 127.0.0.1: a small test backend plays the gateway, so each
status, header and failure is what a socket really delivered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from copilot.errors import GatewayError, InputError, ScopeDenied, TokenInvalid
from copilot.scopes import Catalog, build_catalog
from copilot.scopes.client import AsyncGatewayClient, GatewayClient, GatewaySettings
from copilot.scopes.keys import load_jwks
from copilot.scopes.server import BackgroundServer
from copilot.scopes.tokens import verify_token

from .conftest import AUDIENCE, ISSUER, Keys

pytestmark = pytest.mark.slow  # real HTTP servers on loopback

STATUS_CATALOG = {
    "proxies": [
        {
            "name": "t",
            "basePath": "/t",
            "operations": [
                {"method": "GET", "path": "/status/{code}", "operationId": "status"},
                {"method": "GET", "path": "/whoami", "operationId": "whoami"},
                {"method": "GET", "path": "/{id}", "operationId": "get"},
                {"method": "GET", "path": "/search", "operationId": "search"},
                {"method": "POST", "path": "/things", "operationId": "create"},
            ],
        }
    ],
    "apiProduct": [
        {
            "name": "t-all",
            "scopes": ["t.all"],
            "environments": ["test"],
            "operationGroup": {
                "operationConfigs": [{"apiSource": "t", "operations": [{"resource": "/**"}]}]
            },
        }
    ],
}


async def _status(request: Request) -> Response:
    code = int(request.path_params["code"])
    if code in (301, 302, 307):
        return RedirectResponse("https://evil.example/elsewhere", status_code=code)
    headers = {}
    if code == 429:
        headers["Retry-After"] = request.query_params.get("after", "7")
    if code == 503:
        headers["Retry-After"] = "Tue, 14 Nov 2023 22:13:50 GMT"
    if code == 204:
        return Response(status_code=204)
    body = {"fault": {"faultstring": f"status {code}", "detail": {"errorcode": f"test.{code}"}}}
    return JSONResponse(body if code >= 400 else {"code": code}, status_code=code, headers=headers)


async def _whoami(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "authorization": request.headers.get("authorization"),
            "idempotency_key": request.headers.get("idempotency-key"),
        }
    )


async def _create(request: Request) -> JSONResponse:
    key = request.headers.get("idempotency-key")
    return JSONResponse({"got": await request.json(), "key": key}, status_code=201)


@pytest.fixture(scope="module")
def test_gateway() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/t/status/{code}", _status),
            Route("/t/whoami", _whoami),
            Route("/t/things", _create, methods=["POST"]),
        ]
    )
    with BackgroundServer(app) as server:
        yield server.url


@pytest.fixture(scope="module")
def status_catalog() -> Catalog:
    return build_catalog(STATUS_CATALOG)


def _settings(url: str, keys: Keys, **overrides: object) -> GatewaySettings:
    fields: dict = dict(
        base_url=url, key_ref=keys.rsa.ref, issuer=ISSUER, audience=AUDIENCE,
        subject="wf-7", scopes=("t.all",), timeout_s=5.0,
    )  # fmt: skip
    fields.update(overrides)
    return GatewaySettings(**fields)


def _client(url: str, keys: Keys, catalog: Catalog, **overrides: object) -> GatewayClient:
    return GatewayClient(catalog, _settings(url, keys, **overrides))


def test_a_granted_call_is_sent_with_a_scoped_short_lived_token(
    test_gateway: str, keys: Keys, status_catalog: Catalog
) -> None:
    with _client(test_gateway, keys, status_catalog) as client:
        first = client.call("t.whoami")
        second = client.call("t.whoami")
    token = first.body["authorization"].removeprefix("Bearer ")
    verified = verify_token(token, load_jwks(keys.rsa.jwks_path), audience=AUDIENCE, issuer=ISSUER)
    assert verified.scopes == ("t.all",) and verified.subject == "wf-7"
    assert verified.claims["exp"] - verified.claims["iat"] == 300
    assert second.body == first.body  # the token is reused until close to expiry


def test_bodies_are_sent_as_json(test_gateway: str, keys: Keys, status_catalog: Catalog) -> None:
    with _client(test_gateway, keys, status_catalog) as client:
        response = client.call("t.create", body={"sku": "0614141000012", "qty": 2})
    assert (response.status, response.body) == (
        201,
        {"got": {"sku": "0614141000012", "qty": 2}, "key": None},
    )


@pytest.mark.parametrize(
    ("code", "error", "retryable", "retry_after", "message"),
    [
        (400, GatewayError, False, None, "HTTP 400: status 400 [test.400]"),
        (404, GatewayError, False, None, "HTTP 404"),
        (401, TokenInvalid, None, None, "refused the token"),
        (403, ScopeDenied, None, None, "refused the call: status 403 [test.403]"),
        (408, GatewayError, True, None, "HTTP 408"),
        (429, GatewayError, True, 7.0, "rate limited"),
        (500, GatewayError, True, None, "HTTP 500"),
        (502, GatewayError, True, None, "HTTP 502"),
        (503, GatewayError, True, 0.0, "HTTP 503"),
        (504, GatewayError, True, None, "HTTP 504"),
        (302, GatewayError, False, None, "redirect to https://evil.example/elsewhere not followed"),
        (307, GatewayError, False, None, "not followed"),
    ],
)
def test_answers_become_retryable_or_final_errors(
    test_gateway: str,
    keys: Keys,
    status_catalog: Catalog,
    code: int,
    error: type,
    retryable: bool | None,
    retry_after: float | None,
    message: str,
) -> None:
    with _client(test_gateway, keys, status_catalog) as client, pytest.raises(error) as raised:
        client.call("t.status", {"code": code})
    assert message in raised.value.message
    if retryable is not None:
        assert raised.value.retryable is retryable
        assert raised.value.retry_after == retry_after


def test_success_statuses_come_back_as_results(
    test_gateway: str, keys: Keys, status_catalog: Catalog
) -> None:
    with _client(test_gateway, keys, status_catalog) as client:
        assert client.call("t.status", {"code": 200}).body == {"code": 200}
        assert client.call("t.status", {"code": 204}).body is None


def test_retry_after_comes_from_the_header(
    test_gateway: str, keys: Keys, status_catalog: Catalog
) -> None:
    with (
        _client(test_gateway, keys, status_catalog) as client,
        pytest.raises(GatewayError) as raised,
    ):
        client.call("t.status", {"code": 429}, query={"after": "42"})
    assert raised.value.retry_after == 42.0


def test_proxy_settings_in_the_environment_are_ignored(
    test_gateway: str, keys: Keys, status_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    with _client(test_gateway, keys, status_catalog) as client:
        assert client.call("t.status", {"code": 200}).status == 200


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_timeout_is_retryable(silent_port: int, keys: Keys, status_catalog: Catalog) -> None:
    url = f"http://127.0.0.1:{silent_port}"
    with (
        _client(url, keys, status_catalog, timeout_s=0.3) as client,
        pytest.raises(GatewayError) as raised,
    ):
        client.call("t.status", {"code": 200})
    assert raised.value.retryable and "timed out" in raised.value.message


def test_a_refused_connection_is_retryable(keys: Keys, status_catalog: Catalog) -> None:
    with BackgroundServer(Starlette()) as server:
        url = server.url
    with _client(url, keys, status_catalog) as client, pytest.raises(GatewayError) as raised:
        client.call("t.status", {"code": 200})
    assert raised.value.retryable and "failed" in raised.value.message


def test_the_client_refuses_before_sending(test_gateway: str, keys: Keys, catalog: Catalog) -> None:
    settings = _settings(test_gateway, keys, scopes=("orders.read",))
    with GatewayClient(catalog, settings) as client:
        with pytest.raises(ScopeDenied, match="needs orders.write"):
            client.call("orders.cancel", {"id": "1"})
        with pytest.raises(ScopeDenied, match="not in the catalog"):
            client.call("orders.drop")
        with pytest.raises(ScopeDenied, match="path separator"):
            client.call("orders.get", {"id": "1/../../payments/1"})
        with pytest.raises(ScopeDenied, match="overrides the HTTP method"):
            client.call("orders.get", {"id": "1"}, headers={"X-HTTP-Method-Override": "DELETE"})
        with pytest.raises(ScopeDenied, match="carries a path"):
            client.call("orders.list", query={"next": "/v1/payments/1/refund"})
        with pytest.raises(InputError, match="missing"):
            client.call("orders.get")
        forged = dataclasses.replace(catalog.operation("orders.get"), path_template="/{id}/cancel")
        with pytest.raises(ScopeDenied, match="differs from the catalog"):
            client.call(forged, {"id": "1"})


def test_a_final_url_that_names_another_operation_is_refused(
    test_gateway: str, keys: Keys, status_catalog: Catalog
) -> None:
    with _client(test_gateway, keys, status_catalog) as client:
        with pytest.raises(ScopeDenied, match="resolves to t.search, not to t.get"):
            client.call("t.get", {"id": "search"})
        prepared = client.prepare("t.get", {"id": "42"})
    assert prepared.url == f"{test_gateway}/t/42" and prepared.decision.allowed


@pytest.mark.parametrize(
    "base_url", ["ftp://gateway", "http://gateway/prefix", "http://user:pw@gateway", "gateway"]
)
def test_the_gateway_must_be_a_plain_origin(
    base_url: str, keys: Keys, status_catalog: Catalog
) -> None:
    with (
        _client(base_url, keys, status_catalog) as client,
        pytest.raises(Exception, match="origin|credentials"),
    ):
        client.call("t.status", {"code": 200})


def test_the_async_client_behaves_the_same(
    test_gateway: str, keys: Keys, status_catalog: Catalog
) -> None:
    async def run() -> tuple[int, str]:
        async with AsyncGatewayClient(status_catalog, _settings(test_gateway, keys)) as client:
            ok = await client.call("t.status", {"code": 200})
            try:
                await client.call("t.status", {"code": 429})
            except GatewayError as exc:
                return ok.status, f"{exc.retryable} {exc.retry_after}"
        return ok.status, "no error"

    assert asyncio.run(run()) == (200, "True 7.0")


def test_a_post_carries_its_idempotency_key_and_a_get_never_does(
    test_gateway: str, keys: Keys, status_catalog: Catalog
) -> None:
    with _client(test_gateway, keys, status_catalog) as client:
        created = client.call("t.create", body={"n": 1}, idempotency_key="wf-7/step-2")
        read = client.call("t.whoami", idempotency_key="wf-7/step-1")
        prepared = client.prepare("t.whoami", idempotency_key="wf-7/step-1")
    assert created.body["key"] == "wf-7/step-2"
    assert read.body["idempotency_key"] is None
    assert not any(k.lower() == "idempotency-key" for k in prepared.headers)


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "empty"),
        ("k" * 201, "limit is 200"),
        ("caf\u00e9", "printable ASCII"),
        ("a\r\nX-Evil: 1", "printable ASCII"),
        ("a\tb", "printable ASCII"),
        (" k", "leading or trailing spaces"),
    ],
)
def test_a_malformed_idempotency_key_is_refused_before_sending(
    test_gateway: str, keys: Keys, status_catalog: Catalog, key: str, reason: str
) -> None:
    with _client(test_gateway, keys, status_catalog) as client:
        with pytest.raises(InputError, match=reason):
            client.prepare("t.create", body={}, idempotency_key=key)
        assert (
            client.prepare("t.create", body={}, idempotency_key="k" * 200).headers[
                "Idempotency-Key"
            ]
            == "k" * 200
        )


@pytest.mark.parametrize("name", ["Idempotency-Key", "idempotency_key", "IDEMPOTENCY-KEY"])
def test_the_key_travels_only_as_the_keyword(
    test_gateway: str, keys: Keys, status_catalog: Catalog, name: str
) -> None:
    with (
        _client(test_gateway, keys, status_catalog) as client,
        pytest.raises(InputError, match="idempotency_key="),
    ):
        client.prepare("t.create", body={}, headers={name: "k"})


def test_the_async_client_carries_the_key_too(
    test_gateway: str, keys: Keys, status_catalog: Catalog
) -> None:
    async def run() -> object:
        async with AsyncGatewayClient(status_catalog, _settings(test_gateway, keys)) as client:
            return (await client.call("t.create", body={"n": 1}, idempotency_key="a-1")).body

    assert asyncio.run(run()) == {"got": {"n": 1}, "key": "a-1"}
