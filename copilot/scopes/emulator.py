"""A local gateway that enforces API products the way Apigee does.

Per request, in Apigee's order (route, PreFlow policies, conditional flows):

1. refuse hostile or ambiguous request targets (400, ``atc.gateway.AmbiguousRequest``;
   Apigee has no single code for this, the generated proxy refuses the same);
2. route by base path (404 ``messaging.adaptors.http.flow.ApplicationNotFound``);
3. SpikeArrest per proxy (429 ``policies.ratelimit.SpikeArrestViolation``, with a
   ``Retry-After`` header that Apigee only sends if a FaultRule adds it);
4. VerifyJWT against the JWKS, audience and issuer (401 ``steps.jwt.*``);
5. the token's scopes (a ``scope`` string or an ``scp`` array) must grant the request under the products' resource and
   method rules (403 ``steps.oauth.v2.InsufficientScope``);
6. a non-GET request with an ``Idempotency-Key`` is forwarded once per token
   subject and key; a repeat gets the remembered answer with
   ``Idempotent-Replayed: true``, the key on another request is 422
   (:mod:`copilot.scopes.idempotency`);
7. forward to the proxy's mock backend (the built-in echo when none is set),
   without the caller's ``Authorization`` header (backends never see tokens),
   hop-by-hop headers or override headers in any spelling, even if a check
   above was skipped; an unreachable backend is 503, a slow one 504.

A proxy may have its own VerifyJWT settings (:class:`ProxyAuth`: JWKS, issuer,
audience, algorithms), as each Apigee proxy has its own policy. A proxy whose
backend verifies the token again (the atc bridge) names a ``token_header``: the
emulator then forwards the token *it verified* in that header. A caller's own
copy of any such header is dropped for every proxy, so a client cannot hand a
backend a token other than the one the gateway checked.

Fault bodies have Apigee's shape: ``{"fault": {"faultstring", "detail": {"errorcode"}}}``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from copilot.errors import ScopeDenied, TokenInvalid
from copilot.scopes.check import check_request
from copilot.scopes.emulator_config import EmulatorConfig
from copilot.scopes.headers import (
    HOP_BY_HOP,
    IDEMPOTENCY_HEADER,
    forwardable,
    header_key,
    idempotency_problem,
)
from copilot.scopes.idempotency import SAFE_METHODS, Answer, IdempotencyMemory
from copilot.scopes.server import ALL_METHODS
from copilot.scopes.spikearrest import SpikeArrest
from copilot.scopes.tokens import (
    VerifiedToken,
    fault_code,
    verify_token,
)
from copilot.scopes.urls import check_headers, check_method, parse_target

_TRUSTED_HEADERS = {"authorization", "host"}  # set by the client library and HTTP itself
_KEY_HEADER = IDEMPOTENCY_HEADER.lower()
_SUBJECT_HEADER = "x-atc-subject"  # set by the emulator only: a caller's copy is dropped
# uvicorn sets its own date/server headers; content-encoding was undone by httpx.
_NOT_RETURNED = HOP_BY_HOP | {"content-encoding", "date", "server"}


def fault(status: int, errorcode: str, faultstring: str, headers: dict | None = None) -> Response:
    """An Apigee-shaped error response."""
    body = {"fault": {"faultstring": faultstring, "detail": {"errorcode": errorcode}}}
    return JSONResponse(body, status_code=status, headers=headers)


def _raw_target(request: Request) -> str:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    target = raw.decode("latin-1")
    return f"{target}?{query.decode('latin-1')}" if query else target


class GatewayEmulator:
    """The ASGI app plus its state (limiters, the log of decisions)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.limiters: dict[str, SpikeArrest] = {}
        self.log: deque[dict[str, Any]] = deque(maxlen=1000)
        self.idempotency = IdempotencyMemory(config.idempotency_keys)
        self._dropped = {_SUBJECT_HEADER, *config.token_headers()}
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=ALL_METHODS)])

    def _limiter(self, proxy: str) -> SpikeArrest | None:
        if not self.config.spike_arrest:
            return None
        if proxy not in self.limiters:
            self.limiters[proxy] = SpikeArrest(self.config.spike_arrest)
        return self.limiters[proxy]

    async def handle(self, request: Request) -> Response:
        target = _raw_target(request)
        response, note = await self._decide(request, target)
        self.log.append(
            {
                "method": request.method,
                "target": target,
                "status": response.status_code,
                "note": note,
            }
        )
        return response

    async def _decide(self, request: Request, target: str) -> tuple[Response, str]:
        config = self.config
        try:
            check_method(request.method)
            check_headers([(k, v) for k, v in request.headers.items() if k not in _TRUSTED_HEADERS])
            parsed = parse_target(target)
        except ScopeDenied as exc:
            return fault(400, "atc.gateway.AmbiguousRequest", exc.message), exc.message
        located = config.catalog.locate(parsed.path)
        if located is None:
            text = f"Unable to identify proxy for host: default and url: {parsed.path}"
            return fault(404, "messaging.adaptors.http.flow.ApplicationNotFound", text), text
        proxy, suffix = located
        limiter = self._limiter(proxy.name)
        wait = limiter.admit(proxy.name) if limiter else None
        if limiter is not None and wait is not None:
            retry = {"Retry-After": str(max(1, math.ceil(wait)))}
            text = limiter.fault_text()
            return fault(429, "policies.ratelimit.SpikeArrestViolation", text, retry), text
        try:
            token = self._verify(request, proxy.name)
        except TokenInvalid as exc:
            return fault(401, fault_code(exc), exc.message), exc.message
        decision = check_request(
            config.catalog, token.scopes, request.method, target, environment=config.environment
        )
        if not decision.allowed:
            return fault(403, "steps.oauth.v2.InsufficientScope", decision.reason), decision.reason
        response, note = await self._once(request, target, proxy.name, suffix, parsed.query, token)
        return response, note or decision.reason

    def _verify(self, request: Request, proxy: str) -> VerifiedToken:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            error = TokenInvalid(
                "Failed to Resolve Variable : policy(JWT-VerifyToken) "
                "variable(request.header.authorization): no Bearer token"
            )
            error.fault_code = "steps.jwt.FailedToResolveVariable"  # type: ignore[attr-defined]
            raise error
        auth = self.config.auth_for(proxy)
        return verify_token(
            token.strip(),
            auth.jwks,
            audience=auth.audience,
            issuer=auth.issuer,
            algorithms=auth.algorithms,
            leeway_s=auth.leeway_s,
            max_lifetime_s=auth.max_lifetime_s,
        )

    async def _once(
        self,
        request: Request,
        target: str,
        proxy: str,
        suffix: str,
        query: str,
        token: VerifiedToken,
    ) -> tuple[Response, str | None]:
        """Forward, unless an Idempotency-Key says this request was answered already."""
        body = await request.body()
        keys = [v for k, v in request.headers.items() if header_key(k) == _KEY_HEADER]
        if request.method in SAFE_METHODS or not keys:
            return await self._forward(request, proxy, suffix, query, token, body), None
        problem = "more than one Idempotency-Key header" if len(keys) > 1 else None
        problem = problem or idempotency_problem(keys[0])
        if problem:
            return fault(400, "atc.gateway.InvalidIdempotencyKey", problem), problem

        sent: list[Response] = []

        async def send() -> Answer:
            sent.append(await self._forward(request, proxy, suffix, query, token, body))
            response = sent[0]
            kind = response.headers.get("content-type")
            return Answer(response.status_code, bytes(response.body), kind)

        slot = (token.subject, keys[0])
        answer, first = await self.idempotency.once(slot, request.method, target, body, send)
        if first is None:
            return sent[0], None
        differs = first.mismatch(request.method, target, body)
        if differs:
            text = (
                f"Idempotency-Key {keys[0]!r} was first used for {first.method} "
                f"{first.target[:120]}; this request has {differs}. A key names one request"
            )
            return fault(422, "atc.gateway.IdempotencyKeyReused", text), text
        return _replay(answer), "replayed the answer to its Idempotency-Key"

    async def _forward(
        self,
        request: Request,
        proxy: str,
        suffix: str,
        query: str,
        token: VerifiedToken,
        body: bytes,
    ) -> Response:
        backend = self.config.backends.get(proxy) or self.config.backends.get("*")
        if not backend:
            return _echo(request.method, proxy, suffix, query, token, body)
        url = backend.rstrip("/") + suffix + (f"?{query}" if query else "")
        passed_on = forwardable(request.headers.items())
        # Set by the emulator only: a caller's copy of these never reaches a backend.
        headers = [(k, v) for k, v in passed_on if header_key(k) not in self._dropped]
        headers.append((_SUBJECT_HEADER, token.subject))
        carry = self.config.auth_for(proxy).token_header
        if carry:
            _, _, verified = request.headers.get("authorization", "").partition(" ")
            headers.append((carry, verified.strip()))
        try:
            # A client per call: nothing to close when the emulator stops.
            async with httpx.AsyncClient(
                timeout=self.config.backend_timeout_s, follow_redirects=False, trust_env=False
            ) as http:
                upstream = await http.request(request.method, url, headers=headers, content=body)
        except httpx.TimeoutException:
            return fault(504, "messaging.adaptors.http.flow.GatewayTimeout", "Gateway Timeout")
        except httpx.HTTPError as exc:
            return fault(503, "messaging.adaptors.http.flow.ServiceUnavailable", str(exc))
        returned = {
            k: v
            for k, v in forwardable(upstream.headers.multi_items())
            if header_key(k) not in _NOT_RETURNED
        }
        return Response(upstream.content, status_code=upstream.status_code, headers=returned)


def _replay(answer: Answer) -> Response:
    headers = {"Idempotent-Replayed": "true"}
    if answer.content_type:
        headers["content-type"] = answer.content_type
    return Response(answer.body, status_code=answer.status, headers=headers)


def _echo(
    method: str, proxy: str, suffix: str, query: str, token: VerifiedToken, body: bytes
) -> Response:
    return JSONResponse(
        {
            "echo": True,
            "proxy": proxy,
            "method": method,
            "pathsuffix": suffix,
            "query": query,
            "subject": token.subject,
            "scopes": list(token.scopes),
            "body_bytes": len(body),
        },
        status_code=201 if method == "POST" else 200,
    )


def create_app(config: EmulatorConfig) -> Starlette:
    """The emulator as an ASGI app (``app.state.emulator`` holds its state)."""
    emulator = GatewayEmulator(config)
    emulator.app.state.emulator = emulator
    return emulator.app
