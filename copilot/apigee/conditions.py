"""Apigee ``<Condition>`` expressions: parse once, evaluate on a record or on columns of logs.

Evaluation is three-valued. A variable *absent* from the values (the logs do not have it) is
unavailable and makes its comparison unknown (``None``); a variable present with value ``None``
is null at runtime and follows Apigee's null table. ``and``/``or``/``not`` follow Kleene's logic,
so ``false and unknown`` is false. The subset understood, the semantics and their sources are in
docs/conditions.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from copilot.apigee.conditions_parse import (
    And,
    Cmp,
    Const,
    Lit,
    Node,
    Not,
    Or,
    Truthy,
    Unknown,
    Var,
    parse_with_note,
)
from copilot.apigee.semantics import ConditionSyntaxError, compare, normalize, truthy

UNKNOWN = None


@dataclass(frozen=True)
class Condition:
    """One parsed condition. Build it with :func:`parse_condition` (or ``Condition(text)``)."""

    text: str
    problem: str | None = None  # one sentence when atc cannot read the condition
    node: Node | None = field(default=None, compare=False, repr=False)
    # one sentence when the reading is legal but worth a warning (and/or mixed without parentheses)
    note: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.node is not None:
            return
        try:
            node, note = parse_with_note(self.text)
            object.__setattr__(self, "note", note)
        except ConditionSyntaxError as exc:
            node = Unknown()
            object.__setattr__(self, "problem", self.problem or str(exc))
        except RecursionError:
            node = Unknown()
            object.__setattr__(self, "problem", "The condition nests too deeply to read.")
        object.__setattr__(self, "node", node)

    @property
    def variables(self) -> frozenset[str]:
        """Flow-variable names the condition reads, as written."""
        return frozenset(_variables(self.node))

    @property
    def always(self) -> bool:
        """True for an empty condition (the step or flow is unconditional)."""
        return not self.text.strip() and self.problem is None

    def unavailable(self, available: Iterable[str]) -> frozenset[str]:
        """The variables this condition needs that are not in ``available``."""
        return self.variables - frozenset(available)

    def evaluate(self, values: Mapping[str, object]) -> bool | None:
        """True, False, or ``None`` (unknown) on one record of variable name -> value.

        The product evaluates columns (:meth:`evaluate_columns`); this row-by-row
        reading of the same semantics is kept as the oracle the tests prove the
        columnar evaluator against (tests/apigee/test_conditions.py).
        """
        return _eval(self.node, values)

    def evaluate_columns(
        self, columns: Mapping[str, np.ndarray | pd.Series], n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(true_mask, unknown_mask)`` over ``n`` rows; each comparison runs once per distinct value."""
        true, unknown = _eval_columns(self.node, columns, n, {})
        return true, unknown

    def renamed(self, rename: Callable[[str], str]) -> Condition:
        """The same condition reading ``rename(name)`` for every variable (e.g. ``str.lower``)."""
        return Condition(self.text, self.problem, _rename(self.node, rename), self.note)

    def and_(self, other: Condition) -> Condition:
        """Both conditions (a step inside a conditional flow); a problem in either is kept."""
        if self.always:
            return other
        if other.always:
            return self
        parts = [*_and_parts(self.node), *_and_parts(other.node)]
        text = f"({self.text.strip()}) and ({other.text.strip()})"
        return Condition(
            text, self.problem or other.problem, And(tuple(parts)), self.note or other.note
        )


def parse_condition(text: str) -> Condition:
    """Parse ``text``; never raises. Unreadable text gives a Condition with ``problem`` set."""
    return Condition(text if isinstance(text, str) else "" if text is None else str(text))


def _and_parts(node: Node | None) -> tuple[Node, ...]:
    return node.children if isinstance(node, And) else (node,)  # type: ignore[return-value]


def _rename(node: Node | None, rename: Callable[[str], str]) -> Node | None:
    def operand(o: Var | Lit) -> Var | Lit:
        return Var(rename(o.name)) if isinstance(o, Var) else o

    if isinstance(node, Cmp):
        return Cmp(node.op, operand(node.left), operand(node.right), node.negate)
    if isinstance(node, Truthy):
        return Truthy(Var(rename(node.var.name)))
    if isinstance(node, Not):
        return Not(_rename(node.child, rename))  # type: ignore[arg-type]
    if isinstance(node, And | Or):
        return type(node)(tuple(_rename(c, rename) for c in node.children))  # type: ignore[misc]
    return node


def _variables(node: Node | None) -> set[str]:
    if isinstance(node, Cmp):
        return {o.name for o in (node.left, node.right) if isinstance(o, Var)}
    if isinstance(node, Truthy):
        return {node.var.name}
    if isinstance(node, Not):
        return _variables(node.child)
    if isinstance(node, And | Or):
        return set().union(*(_variables(c) for c in node.children))
    return set()


_ABSENT = object()


def _bool_as_text(value: object) -> object:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return value


def _operand(o: Var | Lit, values: Mapping[str, object]) -> object:
    if isinstance(o, Lit):
        return o.value
    return normalize(values[o.name]) if o.name in values else _ABSENT


def _eval(node: Node | None, values: Mapping[str, object]) -> bool | None:
    if isinstance(node, Cmp):
        lhs, rhs = _operand(node.left, values), _operand(node.right, values)
        if lhs is _ABSENT or rhs is _ABSENT:
            return None
        return compare(node.op, lhs, rhs) != node.negate
    if isinstance(node, Truthy):
        value = _operand(node.var, values)
        return None if value is _ABSENT else truthy(value)
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Not):
        inner = _eval(node.child, values)
        return None if inner is None else not inner
    if isinstance(node, And | Or):
        stop = isinstance(node, Or)  # the value that decides: True for or, False for and
        seen_unknown = False
        for child in node.children:
            result = _eval(child, values)
            if result is stop:
                return stop
            seen_unknown |= result is None
        return None if seen_unknown else not stop
    return None  # Unknown


# --- columns ----------------------------------------------------------------------------------


def _factorizable(col: object) -> pd.Series | np.ndarray:
    """The column ready for ``pd.factorize`` without merging values Apigee tells apart."""
    data = col if isinstance(col, pd.Series) else np.asarray(col)
    if data.dtype.kind not in "biufO":
        return np.asarray(data, dtype=object)  # fixed-width strings, dates: Python values
    if data.dtype.kind == "O" and pd.api.types.infer_dtype(data, skipna=True).startswith("mixed"):
        # factorize would merge True with 1; a boolean reads exactly like its text, so use that
        return np.array([_bool_as_text(v) for v in data], dtype=object)
    return data


def _codes(name: str, columns: Mapping[str, object], n: int, cache: dict) -> tuple | None:
    """``(codes, uniques)`` of a column (null coded as len(uniques)), or None when unavailable."""
    if name not in columns:
        return None
    if name not in cache:
        col = columns[name]
        if len(col) != n:  # type: ignore[arg-type]
            raise ValueError(f"column {name!r} has {len(col)} rows, expected {n}")  # type: ignore[arg-type]
        codes, uniques = pd.factorize(_factorizable(col), use_na_sentinel=True)
        uniques = [normalize(u) for u in uniques]
        codes = np.where(codes < 0, len(uniques), codes)
        cache[name] = (codes, [*uniques, None])
    return cache[name]


def _leaf_columns(
    node: Cmp | Truthy, columns, n: int, cache: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate a comparison per distinct value (or distinct pair of values) and spread to rows."""
    operands = [node.var] if isinstance(node, Truthy) else [node.left, node.right]
    coded = []
    for o in operands:
        if isinstance(o, Lit):
            coded.append((np.zeros(n, dtype=np.intp), [o.value]))
        elif (c := _codes(o.name, columns, n, cache)) is None:
            return np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
        else:
            coded.append(c)
    if isinstance(node, Truthy):
        codes, uniques = coded[0]
        table = np.array([truthy(u) for u in uniques], dtype=bool)
        return table[codes], np.zeros(n, dtype=bool)
    (lc, lu), (rc, ru) = coded
    if len(ru) == 1:  # the common case: a variable against a literal
        table = np.array([compare(node.op, u, ru[0]) != node.negate for u in lu], dtype=bool)
        return table[lc], np.zeros(n, dtype=bool)
    pairs, inverse = np.unique(lc * len(ru) + rc, return_inverse=True)
    table = np.array(
        [compare(node.op, lu[p // len(ru)], ru[p % len(ru)]) != node.negate for p in pairs],
        dtype=bool,
    )
    return table[inverse.reshape(-1)], np.zeros(n, dtype=bool)


def _eval_columns(node: Node | None, columns, n: int, cache: dict) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(node, Cmp | Truthy):
        return _leaf_columns(node, columns, n, cache)
    if isinstance(node, Const):
        return np.full(n, node.value, dtype=bool), np.zeros(n, dtype=bool)
    if isinstance(node, Not):
        true, unknown = _eval_columns(node.child, columns, n, cache)
        return ~true & ~unknown, unknown
    if isinstance(node, And | Or):
        is_or = isinstance(node, Or)
        # Track "decided" (some child true for or / false for and) and "any unknown".
        decided = np.zeros(n, dtype=bool)
        any_unknown = np.zeros(n, dtype=bool)
        for child in node.children:
            true, unknown = _eval_columns(child, columns, n, cache)
            decided |= true if is_or else (~true & ~unknown)
            any_unknown |= unknown
        unknown = any_unknown & ~decided
        true = decided if is_or else ~decided & ~unknown
        return true, unknown
    return np.zeros(n, dtype=bool), np.ones(n, dtype=bool)  # Unknown
