"""Apigee-shaped refusals, and Temporal's errors as HTTP statuses a gateway can act on.

Bodies are ``{"fault": {"faultstring", "detail": {"errorcode"}}}`` as Apigee
sends them (cloud.google.com/apigee/docs/api-platform/fundamentals/fault-handling).
Temporal's gRPC statuses map so that a gateway retries only what may succeed
later: unavailable and resource-exhausted are 503 with ``Retry-After``, a
deadline is 504, a missing workflow 404, a conflict 409.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from copilot.errors import TemporalError

_RPC = {
    RPCStatusCode.NOT_FOUND: (404, "atc.bridge.WorkflowNotFound"),
    RPCStatusCode.ALREADY_EXISTS: (409, "atc.bridge.AlreadyStarted"),
    RPCStatusCode.FAILED_PRECONDITION: (409, "atc.bridge.Conflict"),
    RPCStatusCode.INVALID_ARGUMENT: (400, "atc.bridge.TemporalRefused"),
    RPCStatusCode.PERMISSION_DENIED: (502, "atc.bridge.TemporalPermissionDenied"),
    RPCStatusCode.UNAUTHENTICATED: (502, "atc.bridge.TemporalPermissionDenied"),
    RPCStatusCode.RESOURCE_EXHAUSTED: (503, "atc.bridge.TemporalBusy"),
    RPCStatusCode.UNAVAILABLE: (503, "atc.bridge.TemporalUnavailable"),
    RPCStatusCode.DEADLINE_EXCEEDED: (504, "atc.bridge.TemporalTimeout"),
    RPCStatusCode.CANCELLED: (504, "atc.bridge.TemporalTimeout"),
}


def fault(
    status: int, errorcode: str, faultstring: str, retry_after: int | None = None
) -> JSONResponse:
    """An Apigee-shaped error response (with ``Retry-After`` when given)."""
    body = {"fault": {"faultstring": faultstring, "detail": {"errorcode": errorcode}}}
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return JSONResponse(body, status_code=status, headers=headers)


def innermost(exc: BaseException) -> str:
    """The message of the deepest cause (an update validator's reason, say)."""
    while getattr(exc, "cause", None) is not None:
        exc = exc.cause  # type: ignore[assignment]
    return str(getattr(exc, "message", None) or exc)


def temporal_fault(exc: Exception, retry_after: int) -> JSONResponse | None:
    """The response for a Temporal client error, or None when ``exc`` is not one."""
    if isinstance(exc, TemporalError):  # connect() failed: the cluster is unreachable
        return fault(503, "atc.bridge.TemporalUnavailable", exc.message[:300], retry_after)
    if isinstance(exc, WorkflowAlreadyStartedError):
        return fault(409, "atc.bridge.AlreadyStarted", "a workflow with this id already exists")
    if isinstance(exc, WorkflowUpdateFailedError):
        return fault(422, "atc.bridge.UpdateRefused", innermost(exc)[:500])
    if isinstance(exc, RPCError):
        status, code = _RPC.get(exc.status, (502, "atc.bridge.TemporalError"))
        text = exc.message.lower()
        if exc.status == RPCStatusCode.NOT_FOUND and "completed" in text:
            status, code = 409, "atc.bridge.WorkflowClosed"
        elif exc.status == RPCStatusCode.NOT_FOUND and "namespace" in text:
            status, code = 404, "atc.bridge.NamespaceNotFound"  # the route names a missing one
        retry = retry_after if status == 503 else None
        return fault(status, code, f"Temporal: {exc.message[:300]}", retry)
    return None
