"""Editing a spec as tables: rows from a spec, and edited rows back into a spec document."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from copilot.drafting import spec_edit
from copilot.drafting.spec import WorkflowSpec, parse_spec
from copilot.errors import SpecError
from tests.drafting.specs import flagship

Rows = list[dict[str, Any]]


def _canonical() -> dict[str, Any]:
    """The flagship as the store keeps it (every field present)."""
    return json.loads(parse_spec(flagship()).to_json())


def _edit(
    steps: Callable[[Rows], Rows | None] = lambda rows: None,
    inputs: Callable[[Rows], Rows | None] = lambda rows: None,
    timeout: Any = 259200,
) -> dict[str, Any]:
    spec = _canonical()
    step_rows, input_rows = spec_edit.step_rows(spec), spec_edit.input_rows(spec)
    steps(step_rows)
    inputs(input_rows)
    return spec_edit.apply_edits(spec, step_rows, input_rows, timeout)


def _row(rows: Rows, key: str) -> dict[str, Any]:
    return next(r for r in rows if key in (r.get("id"), r.get("name")))


def _step(spec: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in spec["steps"] if s["id"] == step_id)


def test_unedited_tables_give_back_the_stored_spec_exactly() -> None:
    spec = _canonical()
    before = copy.deepcopy(spec)
    out = spec_edit.apply_edits(
        spec, spec_edit.step_rows(spec), spec_edit.input_rows(spec), spec["execution_timeout_s"]
    )
    assert out == before and spec == before


def test_unedited_tables_keep_a_sparse_spec_equivalent() -> None:
    spec = flagship()
    out = spec_edit.apply_edits(
        spec, spec_edit.step_rows(spec), spec_edit.input_rows(spec), spec["execution_timeout_s"]
    )
    assert parse_spec(out) == parse_spec(spec)


def test_columns_and_choices_come_from_the_step_models() -> None:
    columns = spec_edit.step_columns()
    assert columns[:2] == ("id", "kind") and columns[-1] == "description"
    for name in ("approver", "prompt", "timeout_s", "on_timeout", "on_reject", "next"):
        assert name in columns
    for name in ("params", "body", "retry", "poll", "condition", "steps"):
        assert name not in columns, "structured fields stay in the JSON editor"
    assert set(spec_edit.choices("approval", "on_timeout")) >= {"reject", "approve", "fail"}
    assert set(spec_edit.kinds()) == {"call", "notify", "approval", "sleep", "branch", "parallel"}
    assert spec_edit.choices("call", "operation") is None
    assert spec_edit.choices("sleep", "on_timeout") is None
    assert spec_edit.input_types() == ["string", "integer", "number", "boolean"]


def _set(step_id: str, **values: Any) -> Callable[[Rows], None]:
    return lambda rows: _row(rows, step_id).update(values)


STEP_EDITS = [
    ("a timeout as a float", _set("get_order", timeout_s=45.0), "get_order", {"timeout_s": 45}),
    (
        "a timeout as numpy",
        _set("get_order", timeout_s=np.int64(45)),
        "get_order",
        {"timeout_s": 45},
    ),
    ("a timeout as text", _set("get_order", timeout_s=" 45 "), "get_order", {"timeout_s": 45}),
    (
        "a cleared timeout",
        _set("get_order", timeout_s=float("nan")),
        "get_order",
        {"timeout_s": None},
    ),
    (
        "another operation keeps the params",
        _set("get_order", operation="orders.cancel"),
        "get_order",
        {"operation": "orders.cancel", "params": [{"name": "id", "value": "${inputs.order_id}"}]},
    ),
    (
        "the approval's fields",
        _set(
            "manager_approval", approver="cfo", prompt="Ship?", timeout_s=3600, on_timeout="approve"
        ),
        "manager_approval",
        {"approver": "cfo", "prompt": "Ship?", "timeout_s": 3600, "on_timeout": "approve"},
    ),
    ("a target", _set("ship", next="notify_customer"), "ship", {"next": "notify_customer"}),
    ("a branch target", _set("is_large", if_false="end"), "is_large", {"if_false": "end"}),
    (
        "call to notify keeps what both have",
        _set("cancel_order", kind="notify"),
        "cancel_order",
        {"kind": "notify", "operation": "orders.cancel", "timeout_s": 30, "query": None},
    ),
    (
        "a field of another kind is ignored",
        _set("get_order", duration_s=60, approver="x"),
        "get_order",
        {"duration_s": None, "approver": None},
    ),
]


@pytest.mark.parametrize(
    ("edit", "step_id", "expected"),
    [c[1:] for c in STEP_EDITS],
    ids=[c[0] for c in STEP_EDITS],
)
def test_a_step_edit_lands_in_the_spec(
    edit: Callable[[Rows], None], step_id: str, expected: dict[str, Any]
) -> None:
    step = _step(_edit(steps=edit), step_id)
    assert {k: step.get(k) for k in expected} == expected
    assert parse_spec(_edit(steps=edit))  # still a valid spec


def test_a_kind_change_drops_the_fields_the_new_kind_has_not() -> None:
    out = _edit(steps=_set("cancel_order", kind="sleep", duration_s=10))
    assert _step(out, "cancel_order") == {
        "id": "cancel_order",
        "kind": "sleep",
        "description": None,
        "duration_s": 10,
        "next": None,
    }


def test_a_new_row_is_a_new_step_and_a_removed_row_removes_its_step() -> None:
    def edit(rows: Rows) -> None:
        rows.remove(_row(rows, "notify_customer"))
        rows.insert(0, {"id": "cool_off", "kind": "sleep", "duration_s": 5.0, "timeout_s": None})
        rows.append({c: None for c in spec_edit.step_columns()})  # the editor's blank row

    out = _edit(steps=edit)
    assert [s["id"] for s in out["steps"]][:1] == ["cool_off"]
    assert "notify_customer" not in {s["id"] for s in out["steps"]}
    assert out["steps"][0] == {"id": "cool_off", "kind": "sleep", "duration_s": 5}


def test_reordered_rows_reorder_the_steps() -> None:
    out = _edit(steps=lambda rows: rows.reverse())
    assert [s["id"] for s in out["steps"]] == [s["id"] for s in _canonical()["steps"]][::-1]


INPUT_EDITS = [
    ("number example", "amount", {"example": "12.5"}, {"example": 12.5}),
    ("whole number stays whole", "amount", {"example": "12500"}, {"example": 12500}),
    ("string stays text", "order_id", {"example": "42"}, {"example": "42"}),
    ("cleared default", "customer_email", {"default": ""}, {"default": None}),
    ("unticked required", "order_id", {"required": False}, {"required": False}),
    ("description", "amount", {"description": "in cents"}, {"description": "in cents"}),
]


@pytest.mark.parametrize(
    ("name", "change", "expected"), [c[1:] for c in INPUT_EDITS], ids=[c[0] for c in INPUT_EDITS]
)
def test_an_input_edit_lands_in_the_spec(
    name: str, change: dict[str, Any], expected: dict[str, Any]
) -> None:
    out = _edit(inputs=lambda rows: _row(rows, name).update(change))
    field = next(f for f in out["inputs"] if f["name"] == name)
    assert {k: field[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("integer", "3", 3),
        ("integer", "3.0", 3),
        ("boolean", "True", True),
        ("boolean", "false", False),
    ],
)
def test_a_new_input_takes_its_declared_type(kind: str, text: str, value: Any) -> None:
    def add(rows: Rows) -> None:
        rows.append({"name": "flag", "type": kind, "required": False, "example": text})

    added = _edit(inputs=add)["inputs"][-1]
    assert added == {"name": "flag", "type": kind, "required": False, "example": value}


def test_an_unchanged_required_that_was_not_given_stays_not_given() -> None:
    spec = _canonical()
    spec["inputs"][0]["required"] = None
    rows = spec_edit.input_rows(spec)
    assert rows[0]["required"] is True, "the table shows the effective default"
    out = spec_edit.apply_edits(spec, spec_edit.step_rows(spec), rows, 1)
    assert out["inputs"][0]["required"] is None


@pytest.mark.parametrize(("given", "expected"), [(7200.0, 7200), ("", None), (None, None)])
def test_the_execution_timeout_is_a_whole_number_or_none(given: Any, expected: Any) -> None:
    assert _edit(timeout=given)["execution_timeout_s"] == expected


REFUSALS = [
    ("no id", lambda s: s.append({"kind": "sleep", "duration_s": 1}), None, "has no id"),
    (
        "duplicate id",
        lambda s: s.append({"id": "ship", "kind": "sleep"}),
        None,
        "duplicate step id",
    ),
    ("unknown kind", _set("ship", kind="loop"), None, "unknown kind 'loop'"),
    ("text timeout", _set("ship", timeout_s="soon"), None, "'soon' is not a whole number"),
    ("fractional timeout", _set("ship", timeout_s=1.5), None, "1.5 is not a whole number"),
    (
        "text for a number",
        None,
        lambda i: _row(i, "amount").update(example="lots"),
        "example 'lots' is not a valid number",
    ),
    (
        "text for a boolean",
        None,
        lambda i: i.append({"name": "b", "type": "boolean", "default": "1"}),
        "default '1' is not a valid boolean",
    ),
    ("duplicate input", None, lambda i: i.append({"name": "amount"}), "duplicate input name"),
]


@pytest.mark.parametrize(
    ("steps", "inputs", "message"), [c[1:] for c in REFUSALS], ids=[c[0] for c in REFUSALS]
)
def test_rows_that_cannot_be_a_spec_are_refused_with_the_reason(
    steps: Callable | None, inputs: Callable | None, message: str
) -> None:
    with pytest.raises(SpecError, match=message):
        _edit(steps=steps or (lambda r: None), inputs=inputs or (lambda r: None))


def test_semantic_problems_are_left_for_validation() -> None:
    out = _edit(steps=_set("manager_approval", approver=None))
    assert _step(out, "manager_approval")["approver"] is None
    with pytest.raises(ValueError, match="approver"):
        WorkflowSpec.model_validate(out)
