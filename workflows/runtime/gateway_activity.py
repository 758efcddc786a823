"""The one activity drafted workflows may run: a catalog operation through the gateway.

``GatewayActivities.call_operation`` re-checks the call against the scopes
this worker was started with (the runtime lock; the workflow cannot widen
them: scopes are worker configuration, not payload), signs it with a
short-lived JWT whose subject is the workflow id and whose key is resolved
from a *reference*, and sends it with the scoped gateway client. The client
never retries: Temporal does, following the workflow's retry policy, and a
``Retry-After`` becomes the next delay.

Three things keep drafted workflows safe whatever the backend does:

- every non-GET call carries an ``Idempotency-Key`` derived from the
  workflow id, the step and the step's iteration, never from the attempt, so
  Temporal's retries of one call are one call to the backend;
- only the response's status and the body paths the workflow asked to
  ``keep`` come back, so large or sensitive bodies never enter history;
- a poll (``request.until``) evaluates its condition here and asks to be
  retried (``PollNotReady``) while it does not hold: the workflow's history
  holds one activity, not a timer and a call per round.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from copilot import failpoints
from copilot.scopes.catalog import Catalog
from copilot.scopes.client import AsyncGatewayClient, GatewaySettings
from copilot.scopes.headers import IDEMPOTENCY_HEADER
from copilot.scopes.outcomes import activity_error_fields
from workflows.runtime.shared import CALL_OPERATION, CallRequest, compare, lookup

CallObserver = Callable[[dict[str, Any]], None]
POLL_NOT_READY = "PollNotReady"
_MISSING = object()


def idempotency_key(workflow_id: str, step: str, iteration: int = 0, poll_round: int = 0) -> str:
    """The ``Idempotency-Key`` of one call: the same for every retry of it.

    Derived from the workflow id, the step and the step's ``iteration`` (how
    often it ran before), never from the attempt, so a retry after a timeout
    or a 503 is the same call to the backend. A poll's rounds are the
    exception: each asks anew, so each passes its attempt as ``poll_round``.
    """
    basis = "\n".join((workflow_id, step, str(iteration), str(poll_round)))
    return "atc-" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:40]


def _find(body: Any, keys: list[str]) -> Any:
    value = body
    for key in keys:
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return _MISSING
    return value


def kept_body(body: Any, keep: Sequence[str]) -> dict[str, Any]:
    """The ``keep`` paths of ``body`` rebuilt as nested dicts; missing paths are absent.

    List indices become string keys (``items.0.sku`` -> ``{"items": {"0": ...}}``),
    which the workflow's ``lookup`` reads the same way. A path inside one
    already kept whole adds nothing.
    """
    out: dict[str, Any] = {}
    taken: set[tuple[str, ...]] = set()
    for path in sorted(set(keep), key=lambda p: (p.count("."), p)):
        keys = path.split(".")
        if any(tuple(keys[:i]) in taken for i in range(1, len(keys))):
            continue
        value = _find(body, keys)
        if value is _MISSING:
            continue
        node = out
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
        taken.add(tuple(keys))
    return out


class GatewayActivities:
    """Activities bound to one catalog, gateway and set of approved scopes."""

    def __init__(
        self,
        catalog: Catalog,
        settings: GatewaySettings,
        *,
        observer: CallObserver | None = None,
        workflow_type: str | None = None,
        subject_prefix: str = "workflow",
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        # A worker serves one approved draft: calls from any other workflow type are refused,
        # so no workflow can borrow this worker's scopes by naming its task queue.
        self.workflow_type = workflow_type
        # The dry run records every call it makes; production workers pass None.
        self.observer = observer
        # The token's ``sub`` names the execution: ``run:<id>`` for runs of approved drafts.
        self.subject_prefix = subject_prefix

    def _settings_for(self, workflow_id: str) -> GatewaySettings:
        return dataclasses.replace(self.settings, subject=f"{self.subject_prefix}:{workflow_id}")

    @activity.defn(name=CALL_OPERATION)
    async def call_operation(self, request: CallRequest) -> dict[str, Any]:
        """Call ``request.operation``; returns ``{"status", "body"}`` (body: the kept paths)."""
        info = activity.info()
        record: dict[str, Any] = {
            "workflow_id": info.workflow_id,
            "step": request.step,
            "operation": request.operation,
            "attempt": info.attempt,
        }
        if self.workflow_type is not None and info.workflow_type != self.workflow_type:
            message = f"this worker runs {self.workflow_type} only, not {info.workflow_type}"
            record.update(error=message, retryable=False)
            self._observe(record)
            raise ApplicationError(message, type="ScopeDenied", non_retryable=True)
        # A poll asks again on purpose: each round is its own call (its attempt number).
        poll_round = info.attempt if request.until is not None else 0
        key = idempotency_key(info.workflow_id, request.step, request.iteration, poll_round)
        try:
            async with AsyncGatewayClient(
                self.catalog, self._settings_for(info.workflow_id)
            ) as client:
                prepared = client.prepare(
                    request.operation,
                    request.params or {},
                    request.body,
                    query=request.query,
                    idempotency_key=key,
                )
                # The client sends the key on every call but a read (GET, HEAD).
                sent_key = prepared.headers.get(IDEMPOTENCY_HEADER)
                record.update(method=prepared.method, url=prepared.url, idempotency_key=sent_key)
                response = await client.send(prepared)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one ApplicationError
            raise self._failure(record, exc) from None
        record.update(status=response.status)
        # Fault tests end the worker here: the backend has answered, the completion is lost.
        failpoints.hit("gateway.after_send")
        result = {"status": response.status, "body": kept_body(response.body, request.keep)}
        self._check_poll(request, info.attempt, response.body, result, record)
        self._observe(record)
        return result

    def _check_poll(
        self,
        request: CallRequest,
        attempt: int,
        body: Any,
        result: dict[str, Any],
        record: dict[str, Any],
    ) -> None:
        """Raise PollNotReady while the poll's condition does not hold (not on the last round)."""
        until = request.until
        if until is None:
            return
        seen = lookup({"status": result["status"], "body": body}, *until.path)
        met = compare(seen, until.op, until.right)
        record.update(until_met=met)
        if met or attempt >= until.attempts:
            return  # the last round goes on with what it got, as the spec documents
        self._observe(record)
        where, shown = ".".join(until.path), repr(seen)[:80]
        raise ApplicationError(
            f"poll {request.step}: {where} is {shown}, waiting for {until.op} {until.right!r} "
            f"(attempt {attempt} of {until.attempts})",
            type=POLL_NOT_READY,
            category=ApplicationErrorCategory.BENIGN,  # expected: logged quietly, not as a failure
        )

    def _failure(self, record: dict[str, Any], exc: Exception) -> ApplicationError:
        fields = activity_error_fields(exc)
        record.update(error=fields["message"], retryable=not fields["non_retryable"])
        self._observe(record)
        delay = fields["next_retry_delay_s"]
        return ApplicationError(
            fields["message"],
            type=fields["type"],
            non_retryable=fields["non_retryable"],
            next_retry_delay=timedelta(seconds=delay) if delay else None,
        )

    def _observe(self, record: dict[str, Any]) -> None:
        if self.observer is not None:
            self.observer(dict(record))
