"""What one Apigee comparison means: null handling, type adaptation, and the three pattern operators.

Sources and the choices made where the documentation is silent are in docs/conditions.md.
"""

from __future__ import annotations

import math
import re
import warnings
from functools import lru_cache

import numpy as np
import pandas as pd


class ConditionSyntaxError(ValueError):
    """A condition (or one of its patterns) atc cannot read; the message is one sentence."""


# Apigee's table "Behavior of null operands": the result when the LHS is null, the RHS is null,
# both are null (T true, F false), per operator.
_NULL_ROWS = (
    ("Equals", "FFT"), ("EqualsCaseInsensitive", "FFT"), ("StartsWith", "FFF"),
    ("NotEquals", "TTF"), ("GreaterThan", "TFF"), ("GreaterThanOrEquals", "FTT"),
    ("LesserThan", "TFF"), ("LesserThanOrEquals", "TFT"), ("Matches", "FFF"),
    ("JavaRegex", "FFF"), ("MatchesPath", "FFF"), ("NotMatches", "TFF"),
)  # fmt: skip
_NULL_TABLE = {op: tuple(c == "T" for c in row) for op, row in _NULL_ROWS}
_NUMBER_LIKE = re.compile(r"\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*")
_ORDER = {
    "GreaterThan": lambda c: c > 0,
    "GreaterThanOrEquals": lambda c: c >= 0,
    "LesserThan": lambda c: c < 0,
    "LesserThanOrEquals": lambda c: c <= 0,
}


# --- one value --------------------------------------------------------------------------------


def normalize(value: object) -> object:
    """A log value as a plain Python value; NaN / NA / NaT are null, like ``None``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str | bool | int | float):
        return value
    return str(value)


def _text(value: object) -> str:
    """How a value reads as a string: booleans lower-case, whole floats without '.0'."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_number(value: object) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMBER_LIKE.fullmatch(value):
        return float(value)
    return None


def _compare(lhs: object, rhs: object) -> int:
    """-1/0/1; numeric when one side is a number and the other a number or number-like text."""
    a, b = _as_number(lhs), _as_number(rhs)
    numeric = a is not None and b is not None
    if numeric and (isinstance(lhs, int | float) or isinstance(rhs, int | float)):
        return (a > b) - (a < b)  # type: ignore[operator]
    x, y = _text(lhs), _text(rhs)
    return (x > y) - (x < y)


def compare(op: str, lhs: object, rhs: object) -> bool:
    """Apigee's ``lhs op rhs`` on two known values (``None`` meaning null at runtime)."""
    if lhs is None or rhs is None:
        l_null, r_null, both = _NULL_TABLE[op]
        return both if lhs is None and rhs is None else l_null if lhs is None else r_null
    if op == "Equals":
        return _compare(lhs, rhs) == 0
    if op == "NotEquals":
        return _compare(lhs, rhs) != 0
    if op == "EqualsCaseInsensitive":
        return _text(lhs).lower() == _text(rhs).lower()
    if op == "StartsWith":
        return _text(lhs).startswith(_text(rhs))
    if op in _ORDER:
        return _ORDER[op](_compare(lhs, rhs))
    matched = compile_pattern("Matches" if op == "NotMatches" else op, _text(rhs)).fullmatch(
        _text(lhs)
    )
    return (matched is None) if op == "NotMatches" else (matched is not None)


def truthy(value: object) -> bool:
    """A bare variable as a condition: true only for boolean true or the text 'true' (any case)."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


# --- patterns ---------------------------------------------------------------------------------

# Java escapes Python lacks or reads differently; refusing is safer than a silent mismatch.
_JAVA_ONLY_ESCAPES = {
    "p": "Unicode property classes (\\p{...})", "P": "Unicode property classes (\\P{...})",
    "h": "\\h", "H": "\\H", "v": "\\v (vertical whitespace in Java)", "R": "\\R", "X": "\\X",
    "G": "\\G", "e": "\\e", "c": "\\c control escapes", "0": "octal escapes (\\0)",
}  # fmt: skip


def java_regex_to_python(pattern: str) -> str:
    """Translate a java.util.regex pattern to Python ``re`` syntax, or refuse with a reason."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            piece, i = _java_escape(pattern, i, in_class)
            out.append(piece)
            continue
        if in_class:
            if c == "[" or pattern.startswith("&&", i):
                raise ConditionSyntaxError(
                    "Java character-class unions and intersections are not supported."
                )
            in_class = c != "]"
        elif c == "[":
            in_class = True
            lead = "[^" if pattern.startswith("[^", i) else "["
            if pattern.startswith("]", i + len(lead)):
                raise ConditionSyntaxError(
                    "A character class starting with ']' reads differently in Java."
                )
            out.append(lead)
            i += len(lead)
            continue
        elif pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        out.append(c)
        i += 1
    if in_class:
        raise ConditionSyntaxError("The regular expression has an unclosed '['.")
    return "".join(out)


def _java_escape(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    if i + 1 >= len(pattern):
        raise ConditionSyntaxError("The regular expression ends with a lone backslash.")
    d = pattern[i + 1]
    if d == "Q":  # \Q...\E quotes literally
        end = pattern.find("\\E", i + 2)
        literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
        return re.escape(literal), len(pattern) if end < 0 else end + 2
    if d in _JAVA_ONLY_ESCAPES:
        raise ConditionSyntaxError(
            f"Java regex {_JAVA_ONLY_ESCAPES[d]} has no Python equivalent here."
        )
    if d == "k" and (m := re.match(r"\\k<([A-Za-z][A-Za-z0-9]*)>", pattern[i:])):
        return f"(?P={m.group(1)})", i + m.end()
    if not in_class and d == "z":
        return r"\Z", i + 2
    if not in_class and d == "Z":  # Java \Z: end, or before a final line terminator
        return r"(?=\n?\Z)", i + 2
    return pattern[i : i + 2], i + 2


def _glob(pattern: str, path: bool) -> str:
    """Matches (``*`` any characters) or MatchesPath (``*`` one segment, ``**`` any); ``%`` escapes."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "%" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif path and pattern.startswith("/**", i):
            out.append("(?:/.*)?")
            i += 3
        elif path and pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*" if path else ".*")
            i += 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


@lru_cache(maxsize=2048)
def compile_pattern(op: str, pattern: str) -> re.Pattern[str]:
    """The compiled whole-value matcher for a pattern operator (cached: each pattern compiles once)."""
    if op == "JavaRegex":
        source, flags = java_regex_to_python(pattern), re.ASCII  # Java's \d \w \s are ASCII
    else:
        source, flags = _glob(pattern, path=op == "MatchesPath"), re.DOTALL
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FutureWarning on odd classes; we only need yes/no
            return re.compile(source, flags)
    except (re.error, OverflowError, RecursionError) as exc:
        raise ConditionSyntaxError(
            f"The pattern {pattern!r} is not a regular expression atc can run ({exc})."
        ) from None
