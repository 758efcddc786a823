"""Spec documents shared by the drafting, rules and workflow tests."""

from __future__ import annotations

import copy
from typing import Any

FLAGSHIP_SCOPES = ("fulfilment.write", "notifications.send", "orders.read", "orders.write")
FLAGSHIP_REQUEST = (
    "When an order over 10,000 is created, hold it for a manager's approval for up to 48 hours, "
    "then send it to fulfilment; on rejection cancel it and notify the customer"
)

_FLAGSHIP: dict[str, Any] = {
    "name": "hold_large_orders",
    "description": "Hold orders over 10,000 for a manager's approval, then ship them.",
    "inputs": [
        {
            "name": "order_id",
            "type": "string",
            "description": "the order",
            "required": True,
            "default": None,
            "example": "ORD-1001",
        },
        {
            "name": "amount",
            "type": "number",
            "description": None,
            "required": True,
            "default": None,
            "example": 12500,
        },
        {
            "name": "customer_email",
            "type": "string",
            "description": None,
            "required": False,
            "default": "customer@example.com",
            "example": None,
        },
    ],
    "steps": [
        {
            "id": "get_order",
            "kind": "call",
            "operation": "orders.get",
            "params": [{"name": "id", "value": "${inputs.order_id}"}],
            "timeout_s": 30,
        },
        {
            "id": "is_large",
            "kind": "branch",
            "condition": {"left": "${inputs.amount}", "op": "gt", "right": 10000},
            "if_true": "manager_approval",
            "if_false": "ship",
        },
        {
            "id": "manager_approval",
            "kind": "approval",
            "approver": "manager",
            "prompt": "Approve order ${inputs.order_id}?",
            "timeout_s": 172800,
            "on_timeout": "reject",
            "on_reject": "cancel_order",
        },
        {
            "id": "ship",
            "kind": "call",
            "operation": "fulfilment.create_shipment",
            "body": [
                {"name": "order_id", "value": "${inputs.order_id}"},
                {"name": "address.city", "value": "${steps.get_order.body.city}"},
            ],
            "timeout_s": 60,
            "next": "end",
        },
        {
            "id": "cancel_order",
            "kind": "call",
            "operation": "orders.cancel",
            "params": [{"name": "id", "value": "${inputs.order_id}"}],
            "timeout_s": 30,
        },
        {
            "id": "notify_customer",
            "kind": "notify",
            "operation": "notifications.send_email",
            "body": [
                {"name": "to", "value": "${inputs.customer_email}"},
                {"name": "subject", "value": "Order ${inputs.order_id} was cancelled"},
            ],
            "timeout_s": 30,
            "retry": {"max_attempts": 3},
        },
    ],
    "execution_timeout_s": 259200,
}


def flagship() -> dict[str, Any]:
    """A fresh copy of the flagship spec (orders over 10,000 need a manager's approval)."""
    return copy.deepcopy(_FLAGSHIP)


def minimal(operation: str = "orders.get", **step: Any) -> dict[str, Any]:
    """A one-call spec (``orders.get`` by default) with overrides for the step."""
    call = {
        "id": "only_call",
        "kind": "call",
        "operation": operation,
        "params": [{"name": "id", "value": "${inputs.order_id}"}],
        "timeout_s": 30,
    }
    call.update(step)
    return {
        "name": "one_call",
        "description": "one call",
        "inputs": [{"name": "order_id", "type": "string", "example": "ORD-1"}],
        "steps": [call],
        "execution_timeout_s": 3600,
    }
