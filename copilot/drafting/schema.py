"""The WorkflowSpec JSON Schema: as pydantic exports it, and in OpenAI's strict form.

Strict structured outputs (``response_format`` ``json_schema`` with
``strict: true``, and strict function tools) accept a subset of JSON Schema:
every object lists all its properties as required and forbids others,
optional fields are expressed as nullable, unions are ``anyOf``, and some
keywords (``default``, string lengths, ``discriminator``) are not allowed.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from copilot.drafting.spec import WorkflowSpec

_DROP = {"default", "discriminator", "minLength", "maxLength", "title"}


@cache
def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of WorkflowSpec (pydantic's export)."""
    return WorkflowSpec.model_json_schema()


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    options = schema.get("anyOf")
    if options is not None and any(o.get("type") == "null" for o in options):
        return schema
    if schema.get("type") == "null":
        return schema
    keep = {k: v for k, v in schema.items() if k == "description"}
    inner = {k: v for k, v in schema.items() if k != "description"}
    return {**keep, "anyOf": [inner, {"type": "null"}]}


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if k not in _DROP}
    if "oneOf" in out:
        out["anyOf"] = out.pop("oneOf")
    if out.get("type") == "object" and "properties" in out:
        required = set(node.get("required", []))
        props = out["properties"]
        for name, schema in props.items():
            if name not in required:
                props[name] = _nullable(schema)
        out["required"] = list(props)
        out["additionalProperties"] = False
    return out


@cache
def strict_json_schema() -> dict[str, Any]:
    """The schema in the strict subset OpenAI-compatible servers accept."""
    return _strict(copy.deepcopy(spec_json_schema()))
