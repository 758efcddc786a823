"""Edit a WorkflowSpec as tables: spec -> rows, edited rows -> spec document.

People change drafts through the spec, never through code: the trusted
renderer writes the code again from the edited spec. These functions turn a
spec document (a dict as stored) into rows for an editable table of steps and
one of inputs, and apply edited rows back onto the document. They only build
the document; validating it, rendering and the dry run are the library's job.

The table columns and the allowed values come from the pydantic models at run
time, so a field added to a step model shows up here without a code change.
Steps and inputs are matched to the original by id (name): a row with a known
id keeps everything the table does not show (params, body, retry, poll,
condition, parallel children); a row with a new id is a new step built from
the row alone; an id missing from the rows removes that step.
"""

from __future__ import annotations

import copy
import json
import math
import types
import typing
from collections.abc import Iterator
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from copilot.drafting.spec import InputField, Step
from copilot.errors import SpecError

_SCALARS = (str, int, float, bool, type(None))
# Columns the page shows for inputs; default and example are text whose type
# follows the input's declared type (a table column cannot hold mixed types).
INPUT_COLUMNS = ("name", "type", "required", "default", "example", "description")
_TYPED = ("default", "example")


def _union_args(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _bare(annotation: Any) -> Any:
    """``Annotated[T, ...]`` -> ``T``."""
    return typing.get_args(annotation)[0] if hasattr(annotation, "__metadata__") else annotation


def _is_scalar(field: FieldInfo) -> bool:
    for arg in map(_bare, _union_args(field.annotation)):
        if typing.get_origin(arg) is not Literal and arg not in _SCALARS:
            return False
    return True


def _is_int(field: FieldInfo) -> bool:
    return int in map(_bare, _union_args(field.annotation))


@cache
def step_models() -> dict[str, type[BaseModel]]:
    """Each step kind -> its pydantic model, in the order the spec declares them."""
    union = typing.get_args(Step)[0]
    models = {}
    for model in typing.get_args(union):
        (kind,) = typing.get_args(model.model_fields["kind"].annotation)
        models[kind] = model
    return models


def kinds() -> list[str]:
    """The step kinds a spec may use."""
    return list(step_models())


@cache
def step_columns() -> tuple[str, ...]:
    """Every scalar step field of any kind: ``id`` and ``kind`` first, ``description`` last."""
    seen: dict[str, None] = {}
    for model in step_models().values():
        for name, field in model.model_fields.items():
            if _is_scalar(field):
                seen.setdefault(name)
    middle = [c for c in seen if c not in ("id", "kind", "description")]
    return ("id", "kind", *middle, "description")


def choices(kind: str, field: str) -> list[Any] | None:
    """The values a step field allows (its ``Literal``), or None when it is free-form."""
    info = step_models()[kind].model_fields.get(field)
    if info is None:
        return None
    values = [
        v
        for arg in map(_bare, _union_args(info.annotation))
        if typing.get_origin(arg) is Literal
        for v in typing.get_args(arg)
    ]
    return values or None


def input_types() -> list[str]:
    """The types an input may declare."""
    return list(typing.get_args(InputField.model_fields["type"].annotation))


def step_rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per step with every column of :func:`step_columns` (None where it does not apply)."""
    return [{c: step.get(c) for c in step_columns()} for step in spec.get("steps") or []]


def input_rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per input; ``required`` shows its effective value, default/example as text."""
    rows = []
    for field in spec.get("inputs") or []:
        row = {c: field.get(c) for c in INPUT_COLUMNS}
        row["required"] = field.get("required") is not False
        for c in _TYPED:
            row[c] = _as_text(field.get(c))
        rows.append(row)
    return rows


def apply_edits(
    spec: dict[str, Any],
    steps: list[dict[str, Any]],
    inputs: list[dict[str, Any]],
    execution_timeout_s: Any,
) -> dict[str, Any]:
    """A new spec document: ``spec`` with the edited step and input rows and timeout.

    Raises :class:`SpecError` for rows that cannot become a step or input (no
    id, a duplicate id, an unknown kind, a value that does not fit its type).
    Everything else (a missing approver, a bad target) is left for validation.
    """
    out = copy.deepcopy(spec)
    out["steps"] = _apply_steps(spec.get("steps") or [], steps)
    out["inputs"] = _apply_inputs(spec.get("inputs") or [], inputs)
    out["execution_timeout_s"] = _to_int("execution timeout", clean(execution_timeout_s))
    return out


def _keyed_rows(
    original: list[dict[str, Any]], rows: list[dict[str, Any]], key: str, what: str
) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Each filled row's ``key``, the row, and the original item of that key (``{}`` if new)."""
    by_key = {item.get(key): item for item in original}
    for n, row in enumerate(_filled(rows), start=1):
        value = clean(row.get(key))
        if value is None:
            raise SpecError(f"{what} row {n} has no {key}; give every {what} {_a(key)} {key}")
        yield value, row, by_key.get(value, {})


def _a(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _apply_steps(original: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict]:
    models = step_models()
    out: list[dict[str, Any]] = []
    for step_id, row, before in _keyed_rows(original, rows, "id", "step"):
        kind = clean(row.get("kind")) or before.get("kind")
        if kind not in models:
            raise SpecError(f"step {step_id}: unknown kind {kind!r}; choose one of {kinds()}")
        fields = models[kind].model_fields
        step = {k: copy.deepcopy(v) for k, v in before.items() if k in fields}
        step.update(id=step_id, kind=kind)
        for column in step_columns()[2:]:
            if column in fields and column in row:
                _set(step, column, _fit(f"step {step_id}", column, row[column], fields[column]))
        out.append(step)
    _no_duplicates("step id", [s["id"] for s in out])
    return out


def _apply_inputs(original: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict]:
    fields = InputField.model_fields
    out: list[dict[str, Any]] = []
    for name, row, before in _keyed_rows(original, rows, "name", "input"):
        field = {k: copy.deepcopy(v) for k, v in before.items() if k in fields}
        field["name"] = name
        for column in INPUT_COLUMNS[1:]:
            if column in row and column not in _TYPED:
                _set(field, column, clean(row[column]))
        if field.get("required") is True and before.get("required") is None:
            field["required"] = before.get("required")  # unchanged: keep "not given"
        for column in _TYPED:
            if column in row:
                _set(field, column, _typed(name, column, clean(row[column]), field.get("type")))
        out.append(field)
    _no_duplicates("input name", [f["name"] for f in out])
    return out


def clean(value: Any) -> Any:
    """A table cell as a plain Python value: blanks and NaN -> None, numpy scalars -> Python."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _set(target: dict[str, Any], key: str, value: Any) -> None:
    # A cleared cell clears the field only where the document had it, so a
    # stored (canonical) spec round-trips unchanged.
    if value is not None or key in target:
        target[key] = value


def _fit(where: str, column: str, value: Any, field: FieldInfo) -> Any:
    value = clean(value)
    return _to_int(f"{where} {column}", value) if _is_int(field) else value


def _to_int(what: str, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{what}: {value!r} is not a whole number") from None
    if not number.is_integer():
        raise SpecError(f"{what}: {value!r} is not a whole number")
    return int(number)


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _typed(name: str, column: str, text: Any, kind: Any) -> Any:
    """Text from the table as a value of the input's declared type."""
    if text is None or not isinstance(text, str) or kind == "string":
        return text
    try:
        value = json.loads(text.lower() if kind == "boolean" else text)
    except ValueError:
        value = None
    wanted = {"integer": (int,), "number": (int, float), "boolean": (bool,)}.get(kind)
    if wanted is None:
        return text
    if isinstance(value, float) and kind == "integer" and value.is_integer():
        value = int(value)
    if isinstance(value, bool) is not (kind == "boolean") or not isinstance(value, wanted):
        raise SpecError(f"input {name}: {column} {text!r} is not a valid {kind}")
    return value


def _filled(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with at least one value (an editor's blank new row, unticked boxes and all, is none)."""
    return [r for r in rows if any(clean(v) not in (None, False) for v in r.values())]


def _no_duplicates(what: str, values: list[str]) -> None:
    dupes = sorted({v for v in values if values.count(v) > 1})
    if dupes:
        raise SpecError(f"duplicate {what}(s): {', '.join(dupes)}; each must be unique")
