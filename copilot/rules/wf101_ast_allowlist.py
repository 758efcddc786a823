"""WF101 ast-allow-list: the code holds nothing but what the trusted renderer writes.

A second lock behind WF100 (the code is exactly the renderer's output), so it
fails closed on its own: ASCII source; imports from the allow-list only; at
import nothing runs but imports, literal constants and the SDK decorators;
attribute access only on names known to be safe and only to attributes they
hold; modules, imported names and the workflow API only ever called, never
aliased or passed; no dunders, frames, ``str.format``, ``eval``/``exec``/
``open``/``getattr`` and friends, no module that reaches the network, the
disk or the interpreter: every API call goes through the gateway activity
(``CALL_OPERATION``). The tables are in :mod:`copilot.rules._ast_policy`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from copilot.rules._ast_exprs import node_problems
from copilot.rules._ast_facts import Facts, binds, module_facts
from copilot.rules._ast_imports import is_passthrough
from copilot.rules._ast_limits import dotted, limit_problem
from copilot.rules._ast_shapes import (
    annotation_problems,
    annotation_roots,
    class_problems,
    function_problems,
    module_problems,
    rebinding_problems,
)
from copilot.rules.base import Finding, Rule, RuleContext

MAX_FINDINGS = 50
# PEP 263: how Python finds a source encoding in the first two lines.
_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=]")


def _source_problems(code: str) -> Iterator[tuple[int, str]]:
    """The text itself, before its tree: what the parser folds or hides.

    The renderer writes printable ASCII and newlines only. Python folds look-alike
    identifiers (NFKC: ``exec`` in fullwidth letters is ``exec``) and reads a
    lone carriage return as a line break; and an encoding declaration makes the
    file that is imported decode differently from the text checked here (in
    UTF-7, a comment can hold a statement).
    """
    lines = code.split("\n")
    for number, line in enumerate(lines[:2], start=1):
        if _CODING.match(line):
            yield (
                number,
                (
                    "an encoding declaration is not allowed (the imported file would decode "
                    "differently from the checked text); fix: render the spec again"
                ),
            )
    for number, line in enumerate(lines, start=1):
        if not all(" " <= ch <= "~" for ch in line):
            yield (
                number,
                (
                    "the code holds a non-ASCII or control character (the renderer escapes every "
                    "one); fix: render the spec again"
                ),
            )
            return


def _vet_shapes(facts: Facts, vetted: set[int]) -> None:
    """Mark the exact shapes the renderer writes that the generic checks would refuse."""
    for node in facts.tree.body:
        if is_passthrough(node):
            vetted.update(id(n) for n in ast.walk(node.items[0].context_expr))
    for node in ast.walk(facts.tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        first, func = node.args[0], dotted(node.func)
        if func == "workflow.execute_activity" and dotted(first) == "CALL_OPERATION":
            vetted.add(id(first))
        elif (
            func == "workflow.wait_condition" and dotted(first) == "workflow.all_handlers_finished"
        ):
            vetted.update(id(n) for n in ast.walk(first))


def _line(facts: Facts, node: ast.AST) -> int:
    """The line of ``node`` or of the nearest node around it (operators have none)."""
    while node is not None and not hasattr(node, "lineno"):
        node = facts.parent.get(node)
    return getattr(node, "lineno", 0)


def problems(tree: ast.Module) -> list[tuple[int, str]]:
    """Every (line, message) WF101 finds in ``tree``."""
    facts = module_facts(tree)
    vetted: set[int] = set()
    found = list(module_problems(facts))
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            found += class_problems(facts, node, vetted)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found += function_problems(facts, node, vetted)
    for root in annotation_roots(tree):
        found += annotation_problems(facts, root)
        vetted.update(id(n) for n in ast.walk(root))
    _vet_shapes(facts, vetted)
    for node in ast.walk(tree):
        line = _line(facts, node)
        names = binds(node)
        if names:
            found += rebinding_problems(facts, node, names)
        if id(node) not in vetted:
            found += [(line, message) for message in node_problems(facts, node)]
    return found


def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.code is None and ctx.tree is None:
        return
    if ctx.tree is None:
        error = ctx.syntax_error
        line = getattr(error, "lineno", None) or 0
        yield RULE.finding(
            f"line {line}: the code does not parse, so it cannot be checked; fix: render the "
            "spec again",
            f"line {line}",
        )
        return
    source = set(_source_problems(ctx.code)) if ctx.code is not None else set()
    found = sorted(source | set(problems(ctx.tree)))
    for line, message in found[:MAX_FINDINGS]:
        yield RULE.finding(f"line {line}: {message}", f"line {line}")
    if len(found) > MAX_FINDINGS:
        yield RULE.finding(
            f"{len(found) - MAX_FINDINGS} more findings not shown; fix: render the spec again"
        )


RULE = Rule(
    id="WF101",
    name="ast-allow-list",
    severity="error",
    stages=("code",),
    summary="Code holds only what the renderer writes: allowed imports, nothing run at import "
    "but SDK decorators, attributes only on known-safe names, no aliases of the workflow API, "
    "no eval/exec/open/getattr tricks, no dunders, no direct httpx or sockets.",
    check=check,
    limit=limit_problem,
)
