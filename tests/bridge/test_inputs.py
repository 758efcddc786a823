"""Inputs: secret-shaped values refused with the path and kind (never the value); schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copilot.bridge.inputs import check_schema, secret_problem
from copilot.errors import InputError

JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ({"auth": "Bearer abc123def456ghi"}, "a bearer token"),
        ({"note": f"see {JWT}"}, "a JWT"),
        ({"k": "-----BEGIN PRIVATE KEY-----\nMIIEv"}, "a PEM private key"),
        ({"k": "-----BEGIN EC PRIVATE KEY-----"}, "a PEM private key"),
        ({"list": ["fine", {"aws": "AKIAIOSFODNN7EXAMPLE"}]}, "an AWS access key id"),
        ({"gcp": "AIza" + "S" * 35}, "a Google API key"),
        ({"stripe": "sk_live_" + "a1" * 12}, "a Stripe-like secret key"),
        ({"gh": "ghp_" + "A" * 36}, "a GitHub token"),
        ({"slack": "xoxb-123456789012-abc"}, "a Slack token"),
        ({JWT: 1}, "a JWT"),
    ],
)
def test_secret_shaped_values_are_refused_with_path_and_kind(value: object, kind: str) -> None:
    problem = secret_problem(value)
    assert problem is not None and kind in problem
    assert "AKIAIOSFODNN7EXAMPLE" not in problem and JWT not in problem


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        ({"password": "hunter2"}, True),
        ({"client_secret": "s3cr3t"}, True),
        ({"api_key": "env:PAYMENTS_KEY"}, False),  # a reference travels
        ({"password": "vault:secret/data/app#pw"}, False),
        ({"password": ""}, False),
        ({"order_id": "o-1", "amount": 12.5, "tags": ["a", "b"], "bearer_of": "courier"}, False),
        ({"token_count": 5, "tokenizer": "bpe"}, False),
        (None, False),
    ],
)
def test_credential_fields_may_hold_references_only(value: object, refused: bool) -> None:
    assert (secret_problem(value) is not None) == refused


def test_a_json_schema_names_where_the_input_breaks_it(tmp_path: Path) -> None:
    schema = tmp_path / "order.json"
    schema.write_text(json.dumps({
        "type": "object", "required": ["order_id"], "additionalProperties": False,
        "properties": {"order_id": {"type": "string"}, "items": {"type": "array", "items": {"type": "integer"}}},
    }), encoding="utf-8")  # fmt: skip
    check_schema({"order_id": "o-1", "items": [1, 2]}, schema)
    for value, where in (
        ({}, "$"),
        ({"order_id": 3}, "$.order_id"),
        ({"order_id": "o", "items": [1, "x"]}, "$.items[1]"),
    ):
        with pytest.raises(InputError) as caught:
            check_schema(value, schema)
        assert f"at {where}:" in caught.value.message
