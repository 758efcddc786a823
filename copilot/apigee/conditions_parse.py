"""Parse Apigee ``<Condition>`` text into a small tree.

The grammar and its sources are in docs/conditions.md. Parsing never evaluates anything: no
``eval``, a bounded length and nesting depth, and every refusal is a :class:`ConditionSyntaxError`
whose message is one sentence for the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from copilot.apigee.semantics import ConditionSyntaxError, compile_pattern

MAX_LENGTH = 4000
MAX_DEPTH = 100


# --- tree -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Lit:
    value: str | int | float | bool | None


@dataclass(frozen=True)
class Cmp:
    op: str  # canonical name, one of OPERATORS' values
    left: Var | Lit
    right: Var | Lit
    negate: bool = False  # `a NOT StartsWith "x"`


@dataclass(frozen=True)
class Truthy:  # a bare variable used as a condition (`!valid`)
    var: Var


@dataclass(frozen=True)
class Const:
    value: bool


@dataclass(frozen=True)
class Unknown:  # stands for a condition atc could not parse: unknown everywhere
    pass


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = Cmp | Truthy | Const | Unknown | Not | And | Or

# Symbols and words from the Apigee conditions reference; words are case-insensitive there.
OPERATORS = {
    "=": "Equals", "==": "Equals", "equals": "Equals", "is": "Equals",
    "!=": "NotEquals", "notequals": "NotEquals", "isnot": "NotEquals",
    ":=": "EqualsCaseInsensitive", "equalscaseinsensitive": "EqualsCaseInsensitive",
    ">": "GreaterThan", "greaterthan": "GreaterThan",
    ">=": "GreaterThanOrEquals", "greaterthanorequals": "GreaterThanOrEquals",
    "<": "LesserThan", "lesserthan": "LesserThan",
    "<=": "LesserThanOrEquals", "lesserthanorequals": "LesserThanOrEquals",
    "~": "Matches", "matches": "Matches", "like": "Matches",
    "!~": "NotMatches",
    "~~": "JavaRegex", "javaregex": "JavaRegex",
    "~/": "MatchesPath", "matchespath": "MatchesPath", "likepath": "MatchesPath",
    "=|": "StartsWith", "startswith": "StartsWith",
}  # fmt: skip
PATTERN_OPS = frozenset({"Matches", "NotMatches", "JavaRegex", "MatchesPath"})
# apigeelint's grammar accepts `a NOT <op> b` only for these.
NEGATABLE_OPS = frozenset({"StartsWith", "JavaRegex", "MatchesPath", "Matches"})
_BOOL_WORDS = {"and": "AND", "&&": "AND", "or": "OR", "||": "OR", "not": "NOT", "!": "NOT"}
_LITERAL_WORDS = {"true": True, "false": False, "null": None}
_KEYWORDS: dict[str, tuple[str, object]] = {
    **{k: ("OP", v) for k, v in OPERATORS.items()},
    **{k: ("BOOL", v) for k, v in _BOOL_WORDS.items()},
    **{k: ("LIT", v) for k, v in _LITERAL_WORDS.items()},
    "(": ("LPAREN", "("),
    ")": ("RPAREN", ")"),
}

# Longest symbols first so `~~` is not read as `~` `~`.
_SYMBOLS = ("~~", "~/", "!~", ":=", "=|", "==", "!=", ">=", "<=", "&&", "||")
_SINGLE = "=><~!()"
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?([fFdDlL])?(?![\w.-])")
_WORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$.\-]*")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


@dataclass(frozen=True)
class _Tok:
    kind: str  # OP, BOOL, LPAREN, RPAREN, VAR, LIT
    value: object
    pos: int  # 0-based; messages say 1-based positions


def _string(text: str, i: int) -> tuple[str, int]:
    """A double-quoted literal at ``text[i]``; only ``\\"`` is unescaped (regexes keep ``\\d``)."""
    if (m := _STRING.match(text, i)) is None:
        raise ConditionSyntaxError(f"The string starting at position {i + 1} is never closed.")
    return _ESCAPE.sub(lambda e: '"' if e.group(1) == '"' else e.group(0), m.group(1)), m.end()


def tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c == '"':
            value, i2 = _string(text, i)
            toks.append(_Tok("LIT", value, i))
            i = i2
        elif c == "'":  # the docs quote variable names holding operator characters: 'a.help!me'
            j = text.find("'", i + 1)
            if j < 0:
                raise ConditionSyntaxError(f"The quoted name at position {i + 1} is never closed.")
            toks.append(_Tok("VAR", text[i + 1 : j], i))
            i = j + 1
        elif m := _NUMBER.match(text, i):
            toks.append(_Tok("LIT", _number(m.group(0), m.group(1)), i))
            i = m.end()
        elif m := _WORD.match(text, i):
            toks.append(_keyword(m.group(0), i))
            i = m.end()
        else:
            sym = next((s for s in _SYMBOLS if text.startswith(s, i)), c if c in _SINGLE else None)
            if sym is None:
                raise ConditionSyntaxError(f"Unexpected character {c!r} at position {i + 1}.")
            toks.append(_keyword(sym, i))
            i += len(sym)
    return toks


def _number(raw: str, suffix: str | None) -> int | float:
    body = raw[:-1] if suffix else raw
    if suffix in ("f", "F", "d", "D") or any(ch in body for ch in ".eE"):
        return float(body)
    return int(body)


def _keyword(word: str, pos: int) -> _Tok:
    """An operator, boolean word, literal or parenthesis; any other word is a variable name."""
    kind, value = _KEYWORDS.get(word.lower(), ("VAR", word))
    return _Tok(kind, value, pos)


# --- parser: Java precedence (NOT, then comparisons, then AND, then OR) -----------------------


class _Parser:
    def __init__(self, toks: list[_Tok]) -> None:
        self.toks, self.i, self.depth = toks, 0, 0
        self.mixed = False  # `and` and `or` side by side without parentheses
        self.built_and = False

    def peek(self, offset: int = 0) -> _Tok | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise ConditionSyntaxError("The condition ends too early.")
        self.i += 1
        return tok

    def is_bool(self, value: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "BOOL" and tok.value == value

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionSyntaxError(f"The condition nests deeper than {MAX_DEPTH} levels.")

    def parse(self) -> Node:
        node = self.or_()
        if (tok := self.peek()) is not None:
            raise ConditionSyntaxError(f"Unexpected {tok.value!r} at position {tok.pos + 1}.")
        return node

    def or_(self) -> Node:
        parts = [self.and_()]
        built = [self.built_and]
        while self.is_bool("OR"):
            self.take()
            parts.append(self.and_())
            built.append(self.built_and)
        if len(parts) == 1:
            return parts[0]
        self.mixed |= any(built)
        return Or(tuple(parts))

    def and_(self) -> Node:
        parts = [self.unary()]
        while self.is_bool("AND"):
            self.take()
            parts.append(self.unary())
        self.built_and = len(parts) > 1  # read by or_(): an `and` not wrapped in parentheses
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self) -> Node:
        if self.is_bool("NOT"):
            self.take()
            self.nest()
            node = Not(self.unary())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "LPAREN":
            self.nest()
            node = self.or_()
            close = self.peek()
            if close is None:
                raise ConditionSyntaxError(f"The '(' at position {tok.pos + 1} is never closed.")
            if self.take().kind != "RPAREN":
                raise ConditionSyntaxError(
                    f"Unexpected {close.value!r} at position {close.pos + 1}."
                )
            self.depth -= 1
            return node
        if tok.kind not in ("VAR", "LIT"):
            raise ConditionSyntaxError(f"Unexpected {tok.value!r} at position {tok.pos + 1}.")
        return self.comparison(_operand(tok))

    def comparison(self, left: Var | Lit) -> Node:
        negate = False
        nxt = self.peek()
        if nxt is not None and nxt.kind == "BOOL" and nxt.value == "NOT":
            after = self.peek(1)
            if after is not None and after.kind == "OP" and after.value in NEGATABLE_OPS:
                self.take()
                negate = True
        if (op := self.peek()) is None or op.kind != "OP":
            return _alone(left)
        self.take()
        rtok = self.take()
        if rtok.kind not in ("VAR", "LIT"):
            raise ConditionSyntaxError(f"{op.value} at position {op.pos + 1} has no right operand.")
        right = _operand(rtok)
        if op.value in PATTERN_OPS:
            if not isinstance(right, Lit) or right.value is None:
                raise ConditionSyntaxError(f"{op.value} needs a quoted pattern on its right.")
            compile_pattern(op.value, str(right.value))  # refuse a bad pattern at parse time
        return Cmp(op.value, left, right, negate)


def _operand(tok: _Tok) -> Var | Lit:
    return Var(str(tok.value)) if tok.kind == "VAR" else Lit(tok.value)  # type: ignore[arg-type]


def _alone(operand: Var | Lit) -> Node:
    if isinstance(operand, Var):
        return Truthy(operand)
    if isinstance(operand.value, bool):
        return Const(operand.value)
    raise ConditionSyntaxError(f"The literal {operand.value!r} alone is not a condition.")


MIXED_NOTE = (
    "The condition mixes 'and' and 'or' without parentheses; atc reads 'and' first, "
    "as the Apigee reference says (Java precedence)."
)


def parse_with_note(text: str) -> tuple[Node, str | None]:
    """The tree of ``text`` (empty: :class:`Const` true) and a note when precedence decides it.

    Raises :class:`ConditionSyntaxError` for text atc cannot read.
    """
    if len(text) > MAX_LENGTH:
        raise ConditionSyntaxError(f"The condition is longer than {MAX_LENGTH} characters.")
    toks = tokenize(text)
    if not toks:
        return Const(True), None
    parser = _Parser(toks)
    node = parser.parse()
    return node, MIXED_NOTE if parser.mixed else None
