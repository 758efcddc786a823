"""The gateway client activities use: every call re-checked, scoped, and classified.

``GatewayClient.call(operation, params, body)``:

1. looks the operation up in the catalog (an unknown id is a ScopeDenied) and
   checks that the granted scopes grant it (the static lock, again);
2. builds the URL from the template (each parameter one encoded segment) and
   runs the *final* URL through :func:`check_request`, which must resolve it
   to the same operation (the runtime lock);
3. sends it with a short-lived JWT whose ``scope`` holds only the granted
   scopes, without following redirects or reading proxy settings from the
   environment; a non-GET/HEAD call given ``idempotency_key`` carries it as
   ``Idempotency-Key`` so the gateway answers a retry instead of repeating it;
4. turns the answer into a result or one exception: ScopeDenied (403) and
   TokenInvalid (401) and other 4xx are not retryable; 5xx, 408, timeouts and
   connection failures are retryable ``GatewayError``; 429 is retryable with
   ``retry_after`` taken from ``Retry-After``.

The client never sleeps or retries: Temporal owns retries. An activity turns
an error into ``ApplicationError`` with
:func:`copilot.scopes.outcomes.activity_error_fields`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

from copilot.errors import ConfigError, GatewayError, InputError, ScopeDenied, TokenInvalid
from copilot.scopes.catalog import Catalog
from copilot.scopes.check import Decision, check_operation, check_request
from copilot.scopes.headers import IDEMPOTENCY_HEADER, check_idempotency_key, header_key
from copilot.scopes.idempotency import SAFE_METHODS
from copilot.scopes.operations import Operation
from copilot.scopes.outcomes import fault_text, retry_after_seconds
from copilot.scopes.tokens import DEFAULT_TTL_S, mint_token, parse_scopes

RETRYABLE_STATUS = {408, 500, 502, 503, 504}
TOKEN_REFRESH_MARGIN_S = 60


@dataclass(frozen=True)
class GatewaySettings:
    """How to reach the gateway and who is calling. ``key_ref`` is a reference
    (``file:...`` / ``env:...``), never key material."""

    base_url: str
    key_ref: str
    issuer: str
    audience: str
    subject: str
    scopes: tuple[str, ...]
    timeout_s: float = 10.0
    connect_timeout_s: float = 3.0
    token_ttl_s: int = DEFAULT_TTL_S
    environment: str | None = None

    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
            raise ConfigError(f"gateway URL {self.base_url!r} must be an http(s) origin, no path")
        if "@" in parts.netloc:
            raise ConfigError("gateway URL may not carry credentials")
        return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class PreparedCall:
    """A call that passed both checks and is ready to send."""

    operation: Operation
    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None
    decision: Decision


@dataclass(frozen=True)
class GatewayResponse:
    """A successful answer from the gateway."""

    operation: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


def _query_string(query: Mapping[str, Any] | None) -> str:
    if not query:
        return ""
    return urlencode({str(k): str(v) for k, v in query.items()}, quote_via=quote, safe="")


def prepare_call(
    catalog: Catalog,
    settings: GatewaySettings,
    operation: str | Operation,
    params: Mapping[str, Any] | None = None,
    body: Any = None,
    *,
    query: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    idempotency_key: str | None = None,
) -> PreparedCall:
    """Check and build a call (raises ScopeDenied / InputError; sends nothing).

    ``idempotency_key`` (1-200 printable ASCII characters) is sent as the
    ``Idempotency-Key`` header on every method but GET and HEAD, which are
    safe to repeat and never carry it.
    """
    op_id = operation.id if isinstance(operation, Operation) else operation
    op = catalog.operation(op_id)
    if isinstance(operation, Operation) and operation != op:
        raise ScopeDenied(f"operation {op_id!r} differs from the catalog's definition of it")
    scopes = parse_scopes(settings.scopes)
    check_operation(catalog, scopes, op.id).raise_if_denied()
    origin = settings.origin()
    qs = _query_string(query)
    url = origin + op.path(params) + (f"?{qs}" if qs else "")
    decision = check_request(
        catalog, scopes, op.method, url, headers, gateway=origin, environment=settings.environment
    ).raise_if_denied()
    if decision.operation is None or decision.operation.id != op.id:
        other = decision.operation.id if decision.operation else "no catalog operation"
        raise ScopeDenied(f"the final URL {url} resolves to {other}, not to {op.id}")
    out_headers = {str(k): str(v) for k, v in (headers or {}).items()}
    if any(header_key(k) == IDEMPOTENCY_HEADER.lower() for k in out_headers):
        raise InputError("pass the Idempotency-Key as idempotency_key=..., not as a header")
    if idempotency_key is not None and op.method not in SAFE_METHODS:
        out_headers[IDEMPOTENCY_HEADER] = check_idempotency_key(idempotency_key)
    content = None
    if body is not None:
        content = json.dumps(body, separators=(",", ":")).encode("utf-8")
        out_headers.setdefault("Content-Type", "application/json")
    out_headers.setdefault("Accept", "application/json")
    return PreparedCall(op, op.method, url, out_headers, content, decision)


def interpret(prepared: PreparedCall, response: httpx.Response) -> GatewayResponse:
    """A gateway answer -> result, or the one exception that says what to do next."""
    status, op = response.status_code, prepared.operation.id
    where = f"{prepared.method} {prepared.url} ({op})"
    if 200 <= status < 300:
        try:
            body: Any = response.json() if response.content else None
        except ValueError:
            body = response.text
        return GatewayResponse(op, status, dict(response.headers), body)
    if 300 <= status < 400:
        target = response.headers.get("location", "?")
        raise GatewayError(f"{where}: redirect to {target} not followed (it could leave scope)")
    if status == 401:
        raise TokenInvalid(f"{where}: the gateway refused the token: {fault_text(response)}")
    if status == 403:
        raise ScopeDenied(f"{where}: the gateway refused the call: {fault_text(response)}")
    if status == 429:
        after = retry_after_seconds(response.headers.get("retry-after"))
        raise GatewayError(
            f"{where}: rate limited (429): {fault_text(response)}",
            retryable=True,
            retry_after=after,
        )
    if status in RETRYABLE_STATUS:
        after = retry_after_seconds(response.headers.get("retry-after"))
        raise GatewayError(
            f"{where}: HTTP {status}: {fault_text(response)}", retryable=True, retry_after=after
        )
    raise GatewayError(f"{where}: HTTP {status}: {fault_text(response)}")


def _transport_error(prepared: PreparedCall, exc: httpx.HTTPError) -> GatewayError:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    return GatewayError(
        f"{prepared.method} {prepared.url} {kind}: {type(exc).__name__}: {exc}", retryable=True
    )


class _TokenCache:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._token: str | None = None
        self._expires = 0.0

    def get(self) -> str:
        now = time.time()
        if self._token is None or now > self._expires - TOKEN_REFRESH_MARGIN_S:
            s = self.settings
            self._token = mint_token(
                s.key_ref,
                issuer=s.issuer,
                audience=s.audience,
                subject=s.subject,
                scopes=s.scopes,
                ttl_s=s.token_ttl_s,
                now=now,
            )
            self._expires = now + s.token_ttl_s
        return self._token


def _http_options(settings: GatewaySettings, transport: Any) -> dict[str, Any]:
    """How both clients talk HTTP: the gateway's timeouts, no redirects, no proxy settings
    from the environment (a call goes to the gateway or nowhere)."""
    timeout = httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s)
    return dict(timeout=timeout, follow_redirects=False, trust_env=False, transport=transport)


class _Preparing:
    """What both clients share: checking and building calls against one catalog."""

    def __init__(self, catalog: Catalog, settings: GatewaySettings) -> None:
        self.catalog, self.settings = catalog, settings
        self._tokens = _TokenCache(settings)

    def prepare(
        self,
        operation: str | Operation,
        params=None,
        body=None,
        *,
        idempotency_key: str | None = None,
        **kw: Any,
    ) -> PreparedCall:
        """Check and build one call (see :func:`prepare_call`); sends nothing."""
        return prepare_call(
            self.catalog,
            self.settings,
            operation,
            params,
            body,
            idempotency_key=idempotency_key,
            **kw,
        )


class GatewayClient(_Preparing):
    """Synchronous client (for sync activities, scripts and tests)."""

    def __init__(
        self,
        catalog: Catalog,
        settings: GatewaySettings,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(catalog, settings)
        self._http = httpx.Client(**_http_options(settings, transport))

    def call(
        self, operation: str | Operation, params=None, body=None, **kw: Any
    ) -> GatewayResponse:
        """Check, sign and send one operation call (see the module docstring)."""
        return self.send(self.prepare(operation, params, body, **kw))

    def send(self, prepared: PreparedCall) -> GatewayResponse:
        """Send a prepared call as is. Activities use :meth:`call`; tests of the
        gateway itself use this to send what the client would have refused."""
        headers = {**prepared.headers, "Authorization": f"Bearer {self._tokens.get()}"}
        try:
            response = self._http.request(
                prepared.method, prepared.url, headers=headers, content=prepared.content
            )
        except httpx.HTTPError as exc:
            raise _transport_error(prepared, exc) from None
        return interpret(prepared, response)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncGatewayClient(_Preparing):
    """Asynchronous twin of :class:`GatewayClient` (for async activities)."""

    def __init__(
        self,
        catalog: Catalog,
        settings: GatewaySettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(catalog, settings)
        self._http = httpx.AsyncClient(**_http_options(settings, transport))

    async def call(
        self, operation: str | Operation, params=None, body=None, **kw: Any
    ) -> GatewayResponse:
        return await self.send(self.prepare(operation, params, body, **kw))

    async def send(self, prepared: PreparedCall) -> GatewayResponse:
        headers = {**prepared.headers, "Authorization": f"Bearer {self._tokens.get()}"}
        try:
            response = await self._http.request(
                prepared.method, prepared.url, headers=headers, content=prepared.content
            )
        except httpx.HTTPError as exc:
            raise _transport_error(prepared, exc) from None
        return interpret(prepared, response)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncGatewayClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
