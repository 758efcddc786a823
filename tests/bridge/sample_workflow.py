"""A test-only workflow the bridge starts, signals and updates (like an order approval).

The ``decide`` update's validator refuses anything but approve/reject, so the
bridge's 422 for a validator refusal can be proved; the workflow completes
with the decision, so status-with-result can be proved.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

TYPE = "OrderApproval"
HEADER = "atc-caller"  # copilot.bridge.identity.HEADER (not imported: workflow sandbox)


class _ReadCaller(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        payload = input.headers.get(HEADER)
        if payload is not None:
            workflow.instance().caller = workflow.payload_converter().from_payload(payload)
        return await super().execute_workflow(input)


class CallerInterceptor(Interceptor):
    """How a worker hands the bridge's ``atc-caller`` header to its workflows."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        return _ReadCaller


@workflow.defn(name=TYPE)
class OrderApproval:
    def __init__(self) -> None:
        self.signals: list[str] = []
        self.decision: str | None = None
        self.caller: dict[str, Any] | None = None  # set by CallerInterceptor from the header

    @workflow.run
    async def run(self, order: dict[str, Any]) -> dict[str, Any]:
        await workflow.wait_condition(lambda: self.decision is not None)
        return {
            "order": order.get("order_id"),
            "decision": self.decision,
            "signals": self.signals,
            "started_by": (self.caller or {}).get("sub"),
        }

    @workflow.signal(name="approve")
    def approve(self, note: Any = None) -> None:
        self.signals.append("approve")

    @workflow.signal(name="reject")
    def reject(self, note: Any = None) -> None:
        self.signals.append("reject")

    @workflow.update(name="decide")
    def decide(self, decision: dict[str, Any]) -> str:
        self.decision = decision["outcome"]
        return f"decided {self.decision}"

    @decide.validator
    def check_decision(self, decision: dict[str, Any]) -> None:
        if not isinstance(decision, dict) or decision.get("outcome") not in ("approve", "reject"):
            raise ValueError("outcome must be approve or reject")
