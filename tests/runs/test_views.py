"""Calls made, read from a history document (the shape ``to_json_dict()`` gives)."""

from __future__ import annotations

import base64
import json

from copilot.runs.views import calls_made


def _payloads(value: object) -> dict:
    return {"payloads": [{"data": base64.b64encode(json.dumps(value).encode()).decode()}]}


def _scheduled(event_id: int, step: str, operation: str) -> dict:
    attrs = {"input": _payloads({"step": step, "operation": operation})}
    return {
        "eventId": str(event_id),
        "eventType": "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED",
        "activityTaskScheduledEventAttributes": attrs,
    }


HISTORY = {
    "events": [
        {"eventId": "1", "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"},
        _scheduled(5, "get_order", "orders.get"),
        {
            "eventId": "7",
            "eventType": "EVENT_TYPE_ACTIVITY_TASK_COMPLETED",
            "activityTaskCompletedEventAttributes": {
                "scheduledEventId": "5",
                "result": _payloads({"status": 200, "body": {}}),
            },
        },
        _scheduled(11, "ship", "fulfilment.create_shipment"),
        {
            "eventId": "13",
            "eventType": "EVENT_TYPE_ACTIVITY_TASK_FAILED",
            "activityTaskFailedEventAttributes": {
                "scheduledEventId": "11",
                "failure": {"message": "403 scope denied"},
            },
        },
        _scheduled(17, "notify", "notifications.send_email"),
    ]
}


def test_calls_are_paired_with_their_outcome_in_order() -> None:
    methods = {"orders.get": "GET"}
    calls = calls_made(HISTORY, lambda op: methods.get(op, "POST"))
    assert [(c["step"], c["method"], c["status"], c["error"], c["state"]) for c in calls] == [
        ("get_order", "GET", 200, None, "completed"),
        ("ship", "POST", None, "403 scope denied", "failed"),
        ("notify", "POST", None, None, "running"),
    ]
