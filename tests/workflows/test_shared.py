"""The pure helpers drafted workflows run in the sandbox: total, never raising."""

from __future__ import annotations

import pytest

from workflows.runtime.shared import (
    ApprovalDecision,
    StepStatus,
    check_decision,
    compare,
    lookup,
    text,
)


@pytest.mark.parametrize(
    ("left", "op", "right", "expected"),
    [
        (12500, "gt", 10000, True),
        ("12500", "gt", 10000, True),
        (None, "gt", 10000, False),
        ({"a": 1}, "lt", 3, False),
        ("delivered", "eq", "delivered", True),
        (1.0, "eq", "1", True),
        ("abc", "contains", "b", True),
        (["x"], "contains", "x", True),
        (None, "exists", None, False),
        (None, "not_exists", None, True),
        (True, "eq", "true", True),
        (1, "nonsense", 1, False),
    ],
)
def test_compare_is_total(left, op, right, expected) -> None:
    assert compare(left, op, right) is expected


def test_lookup_returns_none_for_anything_missing() -> None:
    results = {"get": {"body": {"items": [{"sku": "1"}], "n": None}}}
    assert lookup(results, "get", "body", "items", "0", "sku") == "1"
    assert lookup(results, "get", "body", "items", "5", "sku") is None
    assert lookup(results, "get", "body", "n", "x") is None
    assert lookup(results, "nope") is None
    assert text(None) == "" and text(2.0) == "2" and text(False) == "false"


def test_the_decision_validator_accepts_only_the_pending_approval() -> None:
    waiting = StepStatus(step="manager_approval", kind="approval")
    check_decision(waiting, ApprovalDecision("manager_approval", "approve", "alice"))
    with pytest.raises(ValueError, match="no approval 'other' is pending"):
        check_decision(waiting, ApprovalDecision("other", "approve", "alice"))
    with pytest.raises(ValueError, match="outcome must be approve or reject"):
        check_decision(waiting, ApprovalDecision("manager_approval", "maybe", "alice"))
    with pytest.raises(ValueError, match="reviewer"):
        check_decision(waiting, ApprovalDecision("manager_approval", "reject", " "))
    with pytest.raises(ValueError, match="pending"):
        check_decision(StepStatus(step="x", kind="call"), ApprovalDecision("x", "approve", "a"))
