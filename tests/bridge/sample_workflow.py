"""A test-only workflow the bridge starts, signals and updates (like an order approval).

The ``decide`` update's validator refuses anything but approve/reject, so the
bridge's 422 for a validator refusal can be proved; the workflow completes
with the decision, so status-with-result can be proved.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

TYPE = "OrderApproval"


@workflow.defn(name=TYPE)
class OrderApproval:
    def __init__(self) -> None:
        self.signals: list[str] = []
        self.decision: str | None = None

    @workflow.run
    async def run(self, order: dict[str, Any]) -> dict[str, Any]:
        await workflow.wait_condition(lambda: self.decision is not None)
        return {"order": order.get("order_id"), "decision": self.decision, "signals": self.signals}

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
