"""A run's inputs are checked against the spec's typed inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copilot.drafting.spec import WorkflowSpec
from copilot.errors import InputError
from copilot.runs.inputs import check_inputs, read_input
from tests.drafting.specs import flagship

SPEC = WorkflowSpec.model_validate(flagship())

GOOD = [
    ({"order_id": "A", "amount": 5}, {"order_id": "A", "amount": 5.0}),
    ({"order_id": "A", "amount": 5.5, "customer_email": "c@x"}, None),
]
BAD = [
    ({"amount": 5}, "missing input order_id"),
    ({"order_id": "A", "amount": 5, "extra": 1}, "unknown input"),
    ({"order_id": 7, "amount": 5}, "order_id must be a string"),
    ({"order_id": "A", "amount": "5"}, "amount must be a number"),
    ({"order_id": "A", "amount": True}, "amount must be a number"),
]


@pytest.mark.parametrize(("given", "expected"), GOOD)
def test_good_inputs_pass(given: dict, expected: dict | None) -> None:
    assert check_inputs(SPEC, given) == (expected or given)


@pytest.mark.parametrize(("given", "message"), BAD)
def test_bad_inputs_are_refused(given: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_inputs(SPEC, given)


def test_input_is_read_from_json_or_a_file(tmp_path: Path) -> None:
    path = tmp_path / "in.json"
    path.write_text(json.dumps({"a": 1}))
    assert read_input('{"a": 1}') == read_input(f"@{path}") == {"a": 1}
    assert read_input(None) == {}
    for bad in ("[1]", "{nope", f"@{tmp_path / 'missing.json'}"):
        with pytest.raises(InputError):
            read_input(bad)
