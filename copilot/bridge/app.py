"""The bridge as an ASGI app (Starlette, the emulator's stack).

Per request, refusing as early as possible and always before Temporal:
target grammar (400/404/405) -> body size (413) -> the caller's JWT, verified
here against the configured JWKS, issuer, audience, algorithms and leeway
(401 ``steps.jwt.*``) -> claims to route (403) -> the type, signal or update
granted to that route (403) -> JSON and secret-shaped values (400/422) -> the
input schema (422) -> a free in-flight slot (503 + ``Retry-After``) -> Temporal,
whose errors map to statuses in :mod:`copilot.bridge.faults`.

Log lines name the method, path, status, caller subject and workflow id;
never a header value, a body or a token.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as StarletteRoute

from copilot.bridge import idempotency
from copilot.bridge.calls import Admission, Connector, StartPlan, Temporal
from copilot.bridge.config import BridgeConfig, Route
from copilot.bridge.faults import fault, temporal_fault
from copilot.bridge.identity import Identity, merge_attributes, reset_identity, set_identity
from copilot.bridge.inputs import check_drafted, check_schema, check_secrets
from copilot.bridge.routes import BadTarget, Caller, Target, caller_of, match_route, parse_target
from copilot.bridge.routes import refusal as route_refusal
from copilot.bridge.verify import TokenRefused, Verifier, read_token
from copilot.config import Settings
from copilot.errors import InputError
from copilot.scopes.keys import load_jwks
from copilot.scopes.server import ALL_METHODS

log = logging.getLogger("atc.bridge")
_PRINTABLE = set(map(chr, range(0x20, 0x7F)))


class Refused(Exception):
    """A request the bridge answers with a fault (status, errorcode, reason)."""

    def __init__(self, status: int, code: str, reason: str, retry_after: int | None = None):
        super().__init__(reason)
        self.status, self.code, self.reason, self.retry_after = status, code, reason, retry_after


class Bridge:
    """The app plus its state: config, JWKS, Temporal clients, in-flight bound, recent starts."""

    def __init__(
        self, config: BridgeConfig, settings: Settings, connector: Connector | None = None
    ) -> None:
        self.config, self.settings = config, settings
        self.verifier = Verifier(config, load_jwks(config.jwks_ref))
        self.temporal = Temporal(settings, connector)
        self.admission = Admission(config.max_in_flight, config.queue_wait_s)
        self.recent: deque[dict[str, Any]] = deque(maxlen=200)
        self.app = Starlette(
            routes=[StarletteRoute("/{path:path}", self.handle, methods=ALL_METHODS)]
        )
        self.app.state.bridge = self

    @property
    def calls(self) -> Any:
        """Counts of Temporal calls made (by kind), from the client interceptor."""
        return self.temporal.interceptor.counter

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        path = (request.scope.get("raw_path") or b"").decode("latin-1")[:200]
        note: dict[str, Any] = {}
        try:
            response = await self._decide(request, path, note)
        except Refused as exc:
            response = fault(exc.status, exc.code, exc.reason, exc.retry_after)
            note["reason"] = exc.reason
        except Exception as exc:  # noqa: BLE001 - a gateway needs an answer, not a reset
            response = (
                temporal_fault(exc, self.config.retry_after_s)
                if not isinstance(exc, InputError)
                else None
            )
            if response is None:
                log.error(
                    "bridge: unexpected %s on %s %s", type(exc).__name__, request.method, path
                )
                response = fault(500, "atc.bridge.InternalError", "the bridge failed; see its log")
        log.info(
            "bridge %s %s -> %d caller=%s workflow=%s %.1fms",
            request.method, path, response.status_code, note.get("sub", "-"),
            note.get("workflow_id", "-"), (time.perf_counter() - started) * 1000,
        )  # fmt: skip
        return response

    async def _decide(self, request: Request, path: str, note: dict[str, Any]) -> Response:
        query = request.scope.get("query_string", b"").decode("latin-1")
        try:
            target = parse_target(request.method, path, query)
        except BadTarget as exc:
            code = {400: "AmbiguousRequest", 404: "NotFound", 405: "MethodNotAllowed"}[exc.status]
            raise Refused(exc.status, f"atc.bridge.{code}", exc.reason) from None
        if target.kind == "health":
            return await self._health()
        body = await self._body(request)
        claims = self._verify(request)
        caller = caller_of(claims)
        note["sub"] = caller.subject
        route = match_route(self.config.routes, claims)
        if route is None:
            raise Refused(403, "atc.bridge.NoRouteForCaller", _no_route(caller))
        reason = route_refusal(route, target)
        if reason:
            raise Refused(403, "atc.bridge.NotGranted", reason)
        value = _json(body) if request.method == "POST" else None
        identity = Identity(caller, self._message_id(request))
        token = set_identity(identity)
        try:
            if target.kind == "start":
                return await self._start(request, route, target, identity, value, note)
            return await self._existing(route, target, value, note)
        finally:
            reset_identity(token)

    async def _health(self) -> Response:
        try:
            ok = await self.temporal.healthy()
        except Exception:  # noqa: BLE001 - health says down, whatever the reason
            ok = False
        return JSONResponse({"ok": ok, "temporal": "up" if ok else "down"}, 200 if ok else 503)

    async def _body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise Refused(413, "atc.bridge.PayloadTooLarge", f"the body exceeds {limit} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refused(413, "atc.bridge.PayloadTooLarge", f"the body exceeds {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _verify(self, request: Request) -> dict[str, Any]:
        header = self.config.token_header
        try:
            token = read_token(
                request.headers.getlist("authorization"), request.headers.getlist(header), header
            )
            return self.verifier.claims(token)
        except TokenRefused as exc:
            raise Refused(401, exc.code, exc.reason) from None

    def _message_id(self, request: Request) -> str:
        value = request.headers.get(self.config.message_id_header, "")
        return value if 0 < len(value) <= 200 and set(value) <= _PRINTABLE else ""

    def _plan(
        self, route: Route, target: Target, identity: Identity, value: Any, key: str | None
    ) -> StartPlan:
        workflow_type = target.workflow
        memo, attributes = identity.memo(), identity.search_attributes()
        args = [] if value is None else [value]
        queue, timeout, drafted = route.task_queue, route.execution_timeout_s, False
        if workflow_type.startswith("atc-draft."):
            try:
                inputs, approved = check_drafted(workflow_type, value or {}, self.settings.data_dir)
            except LookupError as exc:
                raise Refused(404, "atc.bridge.NotApproved", str(exc)) from None
            from workflows.runs.shared import run_attributes, run_memo

            args, queue, drafted = (
                [inputs],
                approved.task_queue(self.settings.runs_task_queue),
                True,
            )
            memo = {**memo, **run_memo(approved, identity.caller.subject), "via": "bridge"}
            attributes = merge_attributes(
                run_attributes(approved, identity.caller.subject), attributes
            )
            timeout = approved.spec.execution_timeout_s or timeout
        else:
            schema = self.config.schemas.get(workflow_type) or route.input_schema
            if schema is not None:
                check_schema(value, schema)
        workflow_id = idempotency.workflow_id(
            route.namespace, workflow_type, identity.caller.key, key
        )
        return StartPlan(
            workflow_type, workflow_id, queue, args, memo, attributes, timeout, drafted
        )

    def _idempotency_key(self, request: Request) -> str | None:
        config = self.config
        values = request.headers.getlist(config.idempotency_header)
        if not values and config.message_id_idempotency:
            values = request.headers.getlist(config.message_id_header)
        if not values:
            return None
        problem = "more than one idempotency key" if len(values) > 1 else None
        problem = problem or idempotency.key_problem(values[0])
        if problem:
            raise Refused(400, "atc.bridge.InvalidIdempotencyKey", problem)
        return values[0]

    async def _start(
        self,
        request: Request,
        route: Route,
        target: Target,
        identity: Identity,
        value: Any,
        note: dict,
    ) -> Response:
        key = self._idempotency_key(request)
        try:
            check_secrets(value)
            plan = self._plan(route, target, identity, value, key)
        except InputError as exc:
            raise Refused(422, "atc.bridge.InputRefused", exc.message) from None
        note["workflow_id"] = plan.workflow_id
        workflow_id, run_id, existing = await self._admitted(self.temporal.start(route, plan))
        self.recent.append(
            {"at": time.time(), "workflow_id": workflow_id, "type": plan.workflow_type,
             "namespace": route.namespace, "caller": identity.caller.subject}
        )  # fmt: skip
        doc = {
            "workflow_id": workflow_id,
            "run_id": run_id,
            "namespace": route.namespace,
            "status_url": f"{self.config.public_base_path}/v1/workflows/{workflow_id}",
        }
        headers = {"Idempotent-Replayed": "true"} if existing else None
        return JSONResponse(doc, status_code=202, headers=headers)

    async def _existing(self, route: Route, target: Target, value: Any, note: dict) -> Response:
        """Status, signal or update of a workflow: only of a type the route may start."""
        note["workflow_id"] = target.workflow
        try:
            check_secrets(value)
        except InputError as exc:
            raise Refused(422, "atc.bridge.InputRefused", exc.message) from None
        described = await self._admitted(self.temporal.describe(route.namespace, target.workflow))
        reason = route_refusal(route, target, described.workflow_type)
        if reason:
            raise Refused(403, "atc.bridge.NotGranted", reason)
        args = [] if value is None else [value]
        if target.kind == "status":
            doc = await self._admitted(self.temporal.status(route.namespace, described))
            return JSONResponse(doc)
        if target.kind == "signal":
            await self._admitted(
                self.temporal.signal(route.namespace, target.workflow, target.name, args)
            )
            return JSONResponse(
                {"workflow_id": target.workflow, "signal": target.name, "accepted": True}, 202
            )
        result = await self._admitted(
            self.temporal.update(
                route.namespace, target.workflow, target.name, args, self.config.update_timeout_s
            )
        )
        return JSONResponse(
            {"workflow_id": target.workflow, "update": target.name, "result": result}
        )

    async def _admitted(self, call: Any) -> Any:
        """Run one Temporal call inside the in-flight bound (503 + Retry-After when full)."""
        if not await self.admission.enter():
            call.close()
            raise Refused(
                503, "atc.bridge.Saturated", "too many calls in flight; retry later",
                self.config.retry_after_s,
            )  # fmt: skip
        try:
            return await call
        finally:
            self.admission.leave()


def _json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "atc.bridge.InvalidJson", "the body is not JSON") from None


def _no_route(caller: Caller) -> str:
    if not caller.scopes:
        return "no route matches this caller (the token has no scope or scp claim)"
    return "no route matches this caller's claims (namespace not mapped)"


def create_app(
    config: BridgeConfig, settings: Settings, connector: Connector | None = None
) -> Starlette:
    """The bridge as an ASGI app; ``app.state.bridge`` holds its state (tests count calls there)."""
    return Bridge(config, settings, connector).app
