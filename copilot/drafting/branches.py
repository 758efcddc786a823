"""Dry-run scenarios that take every side of every condition, and the coverage they reached.

A branch reads an input (``${inputs.amount} gt 10000``) or a call's answer
(``${steps.get_order.body.status} eq "pending"``). For each side the dry
run gets a scenario whose input, or whose mock backend answer for that
call's operation, makes the condition hold or fail (other conditions keep
their default: true). A poll's exit condition is met by the default answers,
so polls end on their first round. After the run, each branch's sides are
read off the scenario paths: the step after the branch is its ``if_true``
or its ``if_false``.
"""

from __future__ import annotations

from typing import Any

from copilot.drafting.refs import Ref, parse_template
from copilot.drafting.spec import END, BranchStep, CallStep, Condition, WorkflowSpec


def _ref(condition: Condition) -> Ref | None:
    parts = parse_template(condition.left)
    return parts[0] if len(parts) == 1 and isinstance(parts[0], Ref) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def sides(condition: Condition) -> tuple[Any, Any] | None:
    """(a value making ``condition`` true, one making it false), or None when unknown."""
    right, op = condition.right, condition.op
    n = _number(right)
    other: Any = (
        (not right) if isinstance(right, bool) else (n + 1 if n is not None else f"not-{right}")
    )
    table: dict[str, tuple[Any, Any] | None] = {
        "eq": (right, other),
        "ne": (other, right),
        "exists": ("present", None),
        "not_exists": (None, "present"),
        "contains": (str(right), "") if isinstance(right, str) else None,
    }
    if n is not None:
        table |= {"gt": (n + 1, n), "ge": (n, n - 1), "lt": (n - 1, n), "le": (n, n + 1)}
    return table.get(op)


def _setting(spec: WorkflowSpec, condition: Condition, value: Any) -> dict[str, Any] | None:
    """The scenario fields (``inputs`` or ``responses``) that give ``condition.left`` ``value``."""
    ref = _ref(condition)
    if ref is None:
        return None
    if ref.root == "inputs":
        field = next((f for f in spec.inputs if f.name == ref.name), None)
        if field is None or (field.type == "integer" and isinstance(value, float)):
            value = int(value) if isinstance(value, float) and value.is_integer() else value
        if field is not None and field.type == "string" and value is not None:
            value = str(value)
        return {"inputs": {ref.name: value}}
    step = spec.step(ref.name)
    if not isinstance(step, CallStep) or ref.path[:1] != ("body",) or len(ref.path) < 2:
        return None
    return {"responses": {step.operation: {".".join(ref.path[1:]): value}}}


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if key == "responses":
            for op, fields in value.items():
                into.setdefault("responses", {}).setdefault(op, {}).update(fields)
        else:
            into.setdefault(key, {}).update(value)


def default_answers(spec: WorkflowSpec) -> dict[str, Any]:
    """Answers that end every poll and take every branch's true side."""
    out: dict[str, Any] = {}
    conditions = [s.poll.until for s in spec.steps if isinstance(s, CallStep) and s.poll]
    conditions += [s.condition for s in spec.steps if isinstance(s, BranchStep)]
    for condition in conditions:
        pair = sides(condition)
        setting = _setting(spec, condition, pair[0]) if pair else None
        if setting and "responses" in setting:
            _merge(out, setting)
    return out


def branch_scenarios(spec: WorkflowSpec) -> list[dict[str, Any]]:
    """One scenario per side of every branch whose condition the dry run can set."""
    base = default_answers(spec)
    out = []
    for step in spec.steps:
        if not isinstance(step, BranchStep):
            continue
        pair = sides(step.condition)
        for side, value in zip(("true", "false"), pair or (), strict=False):
            setting = _setting(spec, step.condition, value)
            if setting is None:
                continue
            scenario: dict[str, Any] = {"name": f"{step.id}-{side}", "answers": {"*": "approve"}}
            _merge(scenario, {"responses": base.get("responses", {})})
            _merge(scenario, setting)
            out.append(scenario)
    return out


def coverage(spec: WorkflowSpec, scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per branch: whether some completed scenario went to its true side, and its false side."""
    out = []
    for step in spec.steps:
        if not isinstance(step, BranchStep):
            continue
        taken = {"true": [], "false": []}
        for s in scenarios:
            path = s.get("path") or []
            for i, sid in enumerate(path):
                if sid != step.id:
                    continue
                following = path[i + 1] if i + 1 < len(path) else END
                for side, target in (("true", step.if_true), ("false", step.if_false)):
                    if following == target and s["name"] not in taken[side]:
                        taken[side].append(s["name"])
        out.append(
            {
                "step": step.id,
                "condition": f"{step.condition.left} {step.condition.op} {step.condition.right!r}",
                "true": taken["true"],
                "false": taken["false"],
                "covered": bool(taken["true"]) and bool(taken["false"]),
            }
        )
    return out
