"""What a run did, read from its workflow history (as ``WorkflowHistory.to_json_dict()``).

Pure functions over the history document: the calls made (step, operation,
method from the catalog, the status code or the failure), so ``atc runs
show`` never needs the drafted code or a worker to say what happened.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

SCHEDULED = "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
ENDED = {
    "EVENT_TYPE_ACTIVITY_TASK_COMPLETED": "activityTaskCompletedEventAttributes",
    "EVENT_TYPE_ACTIVITY_TASK_FAILED": "activityTaskFailedEventAttributes",
    "EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT": "activityTaskTimedOutEventAttributes",
}


def payload_values(attrs: dict[str, Any], field: str) -> list[Any]:
    """The JSON values of ``attrs[field].payloads`` (undecodable ones become None)."""
    out = []
    for payload in (attrs.get(field) or {}).get("payloads", []):
        try:
            out.append(json.loads(base64.b64decode(payload.get("data", ""))))
        except ValueError:
            out.append(None)
    return out


def _event_type(event: dict[str, Any]) -> str:
    kind = event.get("eventType", "")
    return kind if kind.startswith("EVENT_TYPE_") else "EVENT_TYPE_" + _snake(kind)


def _snake(name: str) -> str:
    return "".join("_" + c if c.isupper() else c.upper() for c in name).lstrip("_")


def calls_made(history: dict[str, Any], method_of: Callable[[str], str]) -> list[dict[str, Any]]:
    """Every gateway call in ``history``: step, operation, method, status (or error), attempts."""
    calls: dict[str, dict[str, Any]] = {}
    for event in history.get("events", []):
        kind = _event_type(event)
        if kind == SCHEDULED:
            attrs = event.get("activityTaskScheduledEventAttributes", {})
            request = (payload_values(attrs, "input") or [None])[0] or {}
            operation = request.get("operation", "")
            calls[str(event.get("eventId"))] = {
                "step": request.get("step", ""),
                "operation": operation,
                "method": method_of(operation),
                "status": None,
                "error": None,
                "state": "running",
            }
        elif kind in ENDED:
            attrs = event.get(ENDED[kind], {})
            call = calls.get(str(attrs.get("scheduledEventId")))
            if call is None:
                continue
            if kind.endswith("COMPLETED"):
                result = (payload_values(attrs, "result") or [None])[0] or {}
                call.update(status=result.get("status"), state="completed")
            else:
                failure = attrs.get("failure", {})
                call.update(error=failure.get("message", "timed out"), state="failed")
    return list(calls.values())
