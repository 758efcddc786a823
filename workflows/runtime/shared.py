"""Types and pure helpers shared by drafted workflows, their activity and the harness.

Everything here runs inside the Temporal workflow sandbox, so it is pure and
deterministic: no I/O, no clocks, no randomness. Drafted workflow modules may
import exactly the names in ``__all__`` (the AST allow-list enforces it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CALL_OPERATION",
    "TASK_QUEUE",
    "ApprovalDecision",
    "CallRequest",
    "PollUntil",
    "StepStatus",
    "check_decision",
    "compare",
    "lookup",
    "text",
]

TASK_QUEUE = "atc-drafts"
# The one activity a drafted workflow may run; see workflows/runtime/gateway_activity.py.
CALL_OPERATION = "atc.call_operation"
DECISION_OUTCOMES = ("approve", "reject")
COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le", "contains", "exists", "not_exists")


@dataclass
class PollUntil:
    """A poll's condition, evaluated by the activity on each answer it gets.

    ``path`` reads the call's result (``("body", "status")`` or ``("status",)``);
    ``attempts`` is the poll's bound: the last attempt returns its answer even
    when the condition does not hold.
    """

    path: tuple[str, ...]
    op: str
    right: Any = None
    attempts: int = 1


@dataclass
class CallRequest:
    """One operation call: a catalog operation id, never a URL.

    ``iteration`` counts earlier runs of the same step in this workflow (the
    workflow sets it), so each run gets its own idempotency key while
    Temporal's retries of one run share it. ``keep`` lists the body paths
    later steps read: only those come back. ``until`` makes the call a poll.
    """

    step: str
    operation: str
    params: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    keep: tuple[str, ...] = ()
    until: PollUntil | None = None
    iteration: int = 0


@dataclass
class ApprovalDecision:
    """A reviewer's answer to an approval step."""

    step: str
    outcome: str
    reviewer: str
    comment: str = ""


@dataclass
class StepStatus:
    """What a drafted workflow is doing now (its ``status`` query).

    ``until`` is the workflow-clock ISO time a wait ends (approvals, sleeps).
    A poll's rounds are retries on the server, which the workflow does not see,
    so for a ``poll`` ``every_s`` says how far apart they are.
    """

    step: str = ""
    kind: str = "starting"
    until: str | None = None
    approver: str = ""
    prompt: str = ""
    path: list[str] = field(default_factory=list)
    every_s: float | None = None


TIMED_OUT = "timeout"


def check_decision(
    status: StepStatus,
    decision: ApprovalDecision,
    decided: Mapping[str, ApprovalDecision] | None = None,
) -> None:
    """Refuse a decision before it lands (the update's validator, and its handler again).

    Raises ValueError unless the step is not yet ``decided`` (a decision or a
    timeout is final), the workflow is waiting at exactly this approval step,
    the outcome is approve/reject and a reviewer is named. Pure: validators
    do not run on replay, so they must not change state.
    """
    taken = (decided or {}).get(decision.step)
    if taken is not None:
        if taken.outcome == TIMED_OUT:
            raise ValueError(f"approval {decision.step} already timed out")
        raise ValueError(
            f"approval {decision.step} was already decided: {taken.outcome} by {taken.reviewer}"
        )
    if status.kind != "approval" or status.step != decision.step:
        waiting = f"{status.kind} {status.step}".strip()
        raise ValueError(f"no approval {decision.step!r} is pending (now: {waiting})")
    if decision.outcome not in DECISION_OUTCOMES:
        raise ValueError(f"outcome must be approve or reject, not {decision.outcome!r}")
    if not decision.reviewer.strip():
        raise ValueError("a decision must name its reviewer")


def lookup(results: dict[str, Any], *path: str) -> Any:
    """``results[a][b][c]`` where every missing key or index gives None (never raises:
    an exception in workflow code would retry the workflow task forever)."""
    value: Any = results
    for key in path:
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value


def text(value: Any) -> str:
    """A value as template text: None -> "", bools lower-case, numbers plain."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value))
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def compare(left: Any, op: str, right: Any) -> bool:
    """A branch or poll condition; total: a type mismatch is False, never an error."""
    if op == "exists":
        return left is not None
    if op == "not_exists":
        return left is None
    if op == "contains":
        if isinstance(left, str) and isinstance(right, str):
            return right in left
        return isinstance(left, (list, tuple)) and right in left
    if op in ("eq", "ne"):
        a, b = _number(left), _number(right)
        same = a == b if a is not None and b is not None else text(left) == text(right)
        return same if op == "eq" else not same
    a, b = _number(left), _number(right)
    if a is None or b is None:
        return False
    return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}.get(op, False)
