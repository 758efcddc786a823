"""Spec documents shared by the drafting, rules and workflow tests."""

from __future__ import annotations

import copy
from typing import Any

FLAGSHIP_SCOPES = ("fulfilment.write", "notifications.send", "orders.read", "orders.write")
# The dry run's scenarios of the flagship: the approval's three outcomes, then both branch sides.
FLAGSHIP_SCENARIOS = ["approve", "reject", "no-answer", "is_large-true", "is_large-false"]
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


def _call(step_id: str, operation: str, **fields: Any) -> dict[str, Any]:
    return {"id": step_id, "kind": "call", "operation": operation, "timeout_s": 30, **fields}


def gated(on_timeout: str | None = "stop", name: str | None = None) -> dict[str, Any]:
    """Read an order, wait an hour for a manager, then ship it (after a 10-minute pause)
    or, on rejection, cancel it. ``on_timeout`` None leaves silence unstated; "escalate"
    goes to ``tell_manager`` (an email to the manager)."""
    order = [{"name": "id", "value": "${inputs.order_id}"}]
    approval: dict[str, Any] = {
        "id": "sign_off",
        "kind": "approval",
        "approver": "manager",
        "prompt": "Ship order ${inputs.order_id}?",
        "timeout_s": 3600,
        "on_timeout": on_timeout,
        "on_reject": "cancel_order",
        "next": "cool_off",
    }
    steps = [
        _call("get_order", "orders.get", params=order),
        approval,
        {"id": "cool_off", "kind": "sleep", "duration_s": 600},
        _call(
            "ship",
            "fulfilment.create_shipment",
            body=[{"name": "order_id", "value": "${inputs.order_id}"}],
            next="end",
        ),
        _call("cancel_order", "orders.cancel", params=order, next="end"),
    ]
    if on_timeout == "escalate":
        approval["on_timeout_next"] = "tell_manager"
        steps.append(
            {
                "id": "tell_manager",
                "kind": "notify",
                "operation": "notifications.send_email",
                "body": [
                    {"name": "to", "value": "manager@example.com"},
                    {"name": "subject", "value": "Nobody decided on ${inputs.order_id}"},
                ],
                "timeout_s": 30,
                "next": "end",
            }
        )
    return {
        "name": name or f"gated_{on_timeout or 'unstated'}",
        "description": "Hold an order for a manager's decision.",
        "inputs": [{"name": "order_id", "type": "string", "example": "ORD-1"}],
        "steps": steps,
        "execution_timeout_s": 7200,
    }


def polled(name: str = "wait_for_delivery", attempts: int = 5) -> dict[str, Any]:
    """Poll a shipment every minute until it is delivered, then email the customer."""
    return {
        "name": name,
        "description": "Wait for a delivery.",
        "inputs": [{"name": "shipment_id", "type": "string", "example": "SHIP-1"}],
        "steps": [
            _call(
                "wait_delivered",
                "fulfilment.get_shipment",
                params=[{"name": "id", "value": "${inputs.shipment_id}"}],
                poll={
                    "until": {
                        "left": "${steps.wait_delivered.body.status}",
                        "op": "eq",
                        "right": "delivered",
                    },
                    "interval_s": 60,
                    "max_attempts": attempts,
                },
            ),
            {
                "id": "tell_customer",
                "kind": "notify",
                "operation": "notifications.send_email",
                "body": [
                    {"name": "to", "value": "customer@example.com"},
                    {"name": "subject", "value": "Shipment ${steps.wait_delivered.body.status}"},
                ],
                "timeout_s": 30,
            },
        ],
        "execution_timeout_s": 7200,
    }
