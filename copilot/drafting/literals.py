"""Turning spec data into Python source safely: literals, identifiers, templates.

Every string that came from a planner reaches generated code only through
:func:`lit` (a JSON-escaped, ASCII-only string literal, checked by parsing it
back) and every name through :func:`ident` (a strict regex, no keywords).
Nothing here ever interpolates raw text into code.
"""

from __future__ import annotations

import ast
import keyword
import math
import re

from copilot.drafting.refs import Ref, parse_template
from copilot.errors import SpecError

_IDENT = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


def ident(name: str, what: str = "identifier") -> str:
    """``name`` if it is a safe lower-case Python identifier; else SpecError."""
    if not isinstance(name, str) or not _IDENT.match(name) or keyword.iskeyword(name):
        raise SpecError(f"{what} {name!r} is not a safe identifier ([a-z][a-z0-9_]*)")
    return name


def camel(name: str) -> str:
    """``hold_large_orders`` -> ``HoldLargeOrders`` (from a checked identifier)."""
    return "".join(part.capitalize() for part in ident(name, "name").split("_") if part)


def lit(value: object) -> str:
    """A Python literal for a JSON scalar.

    Strings are ASCII-only: quotes, backslashes, control characters and every
    non-ASCII character (bidi controls included) become escapes; the literal
    is parsed back to prove it means exactly the original text.
    """
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError("numbers must be finite")
        return repr(value)
    if isinstance(value, str):
        out = _str_literal(value)
        if ast.literal_eval(out) != value:  # pragma: no cover - defence in depth
            raise SpecError("a string could not be written as a literal")
        return out
    raise SpecError(f"unsupported value type {type(value).__name__}")


_SIMPLE_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _str_literal(value: str) -> str:
    """An ASCII-only Python string literal; double quotes unless single need fewer escapes
    (the choice ruff format makes, so rendered code is stable under it)."""
    quote = "'" if value.count('"') > value.count("'") else '"'
    out = []
    for char in value:
        code = ord(char)
        if char in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[char])
        elif char == quote:
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return quote + "".join(out) + quote


def ref_expr(ref: Ref, inputs: set[str]) -> str:
    """The Python expression reading one reference in a step method."""
    if ref.root == "inputs":
        if ref.name not in inputs or ref.path:
            raise SpecError(f"{ref} does not name a workflow input")
        return f"data.{ident(ref.name, 'input')}"
    keys = ", ".join(lit(k) for k in (ref.name, *ref.path))
    return f"lookup(self._results, {keys})"


def value_expr(value: object, inputs: set[str]) -> str:
    """A template value as an expression: a literal, one reference (typed), or text."""
    if not isinstance(value, str):
        return lit(value)
    parts = parse_template(value)
    if not parts:
        return lit("")
    if len(parts) == 1:
        part = parts[0]
        return lit(part) if isinstance(part, str) else ref_expr(part, inputs)
    pieces = [lit(p) if isinstance(p, str) else f"text({ref_expr(p, inputs)})" for p in parts]
    return " + ".join(pieces)


def nest(pairs: list[tuple[str, str]], where: str) -> dict:
    """Dotted names -> nested dict of rendered expressions (conflicts are SpecError)."""
    tree: dict = {}
    for name, expr in pairs:
        node = tree
        keys = name.split(".")
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise SpecError(f"{where}: {name!r} conflicts with a value of {key!r}")
            node = child
        if keys[-1] in node:
            raise SpecError(f"{where}: {name!r} is given twice or conflicts with a nested field")
        node[keys[-1]] = expr
    return tree


def dict_lines(tree: dict, indent: int) -> list[str]:
    """A dict display, one entry per line with trailing commas (stable under ruff format)."""
    if not tree:
        return ["{}"]
    pad = " " * (indent + 4)
    lines = ["{"]
    for key, value in tree.items():
        if isinstance(value, dict):
            inner = dict_lines(value, indent + 4)
            lines.append(f"{pad}{lit(key)}: {inner[0]}")
            lines += inner[1:-1]
            lines.append(f"{inner[-1]},")
        else:
            lines.append(f"{pad}{lit(key)}: {value},")
    lines.append(" " * indent + "}")
    return lines
