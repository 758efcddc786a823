"""WorkflowSpec: the schema is the only thing a planner can produce."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from copilot.drafting.schema import spec_json_schema, strict_json_schema
from copilot.drafting.spec import WorkflowSpec, parse_spec, successors

from .specs import flagship, gated, minimal


def test_the_flagship_parses_and_round_trips_as_canonical_json() -> None:
    spec = parse_spec(flagship())
    again = WorkflowSpec.model_validate_json(spec.to_json())
    assert again == spec
    assert spec.to_json() == again.to_json()


@pytest.mark.parametrize(
    "operation",
    [
        "https://evil.example/v1/orders",
        "/v1/orders/{id}",
        "GET /v1/orders",
        "orders",
        "orders.get?x=1",
    ],
)
def test_urls_and_paths_are_not_operation_ids(operation: str) -> None:
    with pytest.raises(ValidationError):
        parse_spec(minimal(operation))


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", "Bad Id"), ("id", "__class__"), ("id", "x; import os"), ("kind", "exec")],
)
def test_step_ids_and_kinds_are_constrained(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        parse_spec(minimal(**{field: value}))


def test_unknown_fields_and_non_finite_numbers_are_refused() -> None:
    with pytest.raises(ValidationError):
        parse_spec(minimal(code="print(1)"))
    doc = minimal()
    doc["steps"][0]["timeout_s"] = float("inf")
    with pytest.raises(ValidationError):
        parse_spec(doc)


def test_default_flow_skips_parallel_children() -> None:
    doc = minimal()
    doc["steps"] = [
        {"id": "both", "kind": "parallel", "steps": ["a", "b"]},
        {"id": "a", "kind": "call", "operation": "orders.get", "timeout_s": 5},
        {"id": "b", "kind": "call", "operation": "orders.list", "timeout_s": 5},
        {"id": "after", "kind": "sleep", "duration_s": 5},
    ]
    spec = parse_spec(doc)
    assert successors(spec, spec.steps[0]) == ["after"]
    assert successors(spec, spec.steps[3]) == ["end"]


def test_the_schema_exports_and_its_strict_form_requires_every_property() -> None:
    schema = spec_json_schema()
    assert schema["title"] == "WorkflowSpec"
    json.dumps(schema)
    strict = strict_json_schema()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            assert "oneOf" not in node and "default" not in node
            if node.get("type") == "object" and "properties" in node:
                assert node["additionalProperties"] is False
                assert sorted(node["required"]) == sorted(node["properties"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(strict)
    step = strict["$defs"]["CallStep"]["properties"]
    assert {"type": "null"} in step["timeout_s"]["anyOf"]


@pytest.mark.parametrize(
    ("on_timeout", "expected"),
    [
        ("escalate", ["cool_off", "cancel_order", "tell_manager"]),
        ("stop", ["cool_off", "cancel_order"]),
        (None, ["cool_off", "cancel_order"]),
    ],
)
def test_an_approval_escalates_only_when_it_says_so(on_timeout, expected) -> None:
    doc = gated("escalate")
    doc["steps"][1]["on_timeout"] = on_timeout
    spec = parse_spec(doc)
    assert successors(spec, spec.steps[1]) == expected
    assert spec.steps[1].timeout_action() == (on_timeout or "stop")


def test_silence_has_no_other_meanings_and_the_schema_offers_the_safe_ones() -> None:
    with pytest.raises(ValidationError):
        parse_spec(gated("ignore"))
    approval = strict_json_schema()["$defs"]["ApprovalStep"]["properties"]
    assert approval["on_timeout"]["anyOf"][0]["enum"] == [
        "stop",
        "escalate",
        "fail",
        "reject",
        "approve",
    ]
    assert {"type": "null"} in approval["on_timeout_next"]["anyOf"]
