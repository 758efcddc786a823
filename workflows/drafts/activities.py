"""The one activity drafted workflows may run: a catalog operation through the gateway.

``GatewayActivities.call_operation`` re-checks the call against the scopes
this worker was started with (the runtime lock of DESIGN.md decision 3; the
workflow cannot widen them: scopes are worker configuration, not payload),
signs it with a short-lived JWT whose subject is the workflow id and whose
key is resolved from a *reference* (decision 4), and sends it with the
scoped gateway client. The client never retries: Temporal does, following
the workflow's retry policy, and a ``Retry-After`` becomes the next delay.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from copilot.scopes.catalog import Catalog
from copilot.scopes.client import AsyncGatewayClient, GatewaySettings
from copilot.scopes.outcomes import activity_error_fields
from workflows.drafts.shared import CALL_OPERATION, CallRequest

CallObserver = Callable[[dict[str, Any]], None]


class GatewayActivities:
    """Activities bound to one catalog, gateway and set of approved scopes."""

    def __init__(
        self,
        catalog: Catalog,
        settings: GatewaySettings,
        *,
        observer: CallObserver | None = None,
        workflow_type: str | None = None,
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        # A worker serves one approved draft: calls from any other workflow type are refused,
        # so no workflow can borrow this worker's scopes by naming its task queue.
        self.workflow_type = workflow_type
        # The dry run records every call it makes; production workers pass None.
        self.observer = observer

    def _settings_for(self, workflow_id: str) -> GatewaySettings:
        return dataclasses.replace(self.settings, subject=f"workflow:{workflow_id}")

    @activity.defn(name=CALL_OPERATION)
    async def call_operation(self, request: CallRequest) -> dict[str, Any]:
        """Call ``request.operation``; returns ``{"operation", "status", "body"}``."""
        info = activity.info()
        record: dict[str, Any] = {
            "step": request.step,
            "operation": request.operation,
            "attempt": info.attempt,
        }
        if self.workflow_type is not None and info.workflow_type != self.workflow_type:
            message = f"this worker runs {self.workflow_type} only, not {info.workflow_type}"
            record.update(error=message, retryable=False)
            self._observe(record)
            raise ApplicationError(message, type="ScopeDenied", non_retryable=True)
        try:
            async with AsyncGatewayClient(
                self.catalog, self._settings_for(info.workflow_id)
            ) as client:
                prepared = client.prepare(
                    request.operation, request.params or {}, request.body, query=request.query
                )
                record.update(method=prepared.method, url=prepared.url)
                response = await client.send(prepared)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one ApplicationError
            fields = activity_error_fields(exc)
            record.update(error=fields["message"], retryable=not fields["non_retryable"])
            self._observe(record)
            delay = fields["next_retry_delay_s"]
            raise ApplicationError(
                fields["message"],
                type=fields["type"],
                non_retryable=fields["non_retryable"],
                next_retry_delay=timedelta(seconds=delay) if delay else None,
            ) from None
        record.update(status=response.status)
        self._observe(record)
        return {"operation": response.operation, "status": response.status, "body": response.body}

    def _observe(self, record: dict[str, Any]) -> None:
        if self.observer is not None:
            self.observer(dict(record))
