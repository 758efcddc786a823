"""A run's input: read from the command line and checked against the spec's typed inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from copilot.drafting.spec import WorkflowSpec
from copilot.errors import InputError

_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


def read_input(text: str | None) -> dict[str, Any]:
    """``--input``: a JSON object, or ``@FILE`` holding one; absent means ``{}``."""
    if text is None:
        return {}
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {text[1:]}: {exc}") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InputError(f"the input is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InputError("the input must be a JSON object of the workflow's inputs")
    return doc


def check_inputs(spec: WorkflowSpec, given: dict[str, Any]) -> dict[str, Any]:
    """The inputs a run starts with; InputError for a missing, extra or mistyped one."""
    fields = {f.name: f for f in spec.inputs}
    extra = sorted(set(given) - set(fields))
    if extra:
        raise InputError(f"unknown input(s) {', '.join(extra)}; the spec takes {sorted(fields)}")
    out: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in given:
            if field.required is not False:
                raise InputError(f"missing input {name} ({field.type})")
            continue
        value = given[name]
        if not _CHECKS[field.type](value):
            shown = json.dumps(value)[:60]
            raise InputError(f"input {name} must be a {field.type}, not {shown}")
        out[name] = float(value) if field.type == "number" else value
    return out
