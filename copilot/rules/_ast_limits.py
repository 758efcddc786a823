"""Bounds on the code the code rules read, and small iterative AST helpers.

CPython's parser, compiler and :func:`ast.unparse` recurse: a module nested a
few thousand levels deep raises RecursionError or MemoryError, and megabytes
of source take memory in proportion. So the size is bounded before parsing,
the nesting after it, and the helpers here walk the tree with loops, never
with recursion. Whatever is out of bounds becomes a finding of every code
rule, never an exception.
"""

from __future__ import annotations

import ast

from copilot.rules.base import RuleContext

# Far above any rendered module (tens of kilobytes, nesting in the tens) and far
# below what makes parsing or compiling slow or recursive.
MAX_CODE_BYTES = 2_000_000
MAX_DEPTH = 200
_FIX = "fix: edit the spec and let atc render the code"


def prepare(ctx: RuleContext) -> None:
    """Parse ``ctx.code`` into ``ctx.tree`` once, within the bounds.

    Sets ``ctx.limit_error`` for code too large or too deep, ``ctx.syntax_error``
    for code that does not parse; a context already prepared is left alone.
    """
    if ctx.code is None or ctx.tree is not None:
        return
    if ctx.syntax_error is not None or ctx.limit_error is not None:
        return
    size = len(ctx.code.encode("utf-8", "surrogatepass"))
    if size > MAX_CODE_BYTES:
        ctx.limit_error = f"the code is larger than {MAX_CODE_BYTES} bytes ({size}); {_FIX}"
        return
    try:
        tree = ast.parse(ctx.code, filename=ctx.filename)
    except SyntaxError as exc:
        ctx.syntax_error = exc
        return
    except ValueError as exc:  # NUL bytes, on some Python versions
        ctx.syntax_error = SyntaxError(str(exc))
        return
    except (RecursionError, MemoryError):
        ctx.limit_error = f"the code is nested too deeply to parse; {_FIX}"
        return
    if deeper_than(tree, MAX_DEPTH):
        ctx.limit_error = f"the code is nested deeper than {MAX_DEPTH} levels; {_FIX}"
        return
    ctx.tree = tree


def limit_problem(ctx: RuleContext) -> str | None:
    """Why the code cannot be checked within the bounds, or None."""
    prepare(ctx)
    return ctx.limit_error


def deeper_than(tree: ast.AST, limit: int) -> bool:
    """Whether any node of ``tree`` lies more than ``limit`` levels down."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return False


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attributes on a bare name, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    """Each node's parent (the module has none)."""
    out: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            out[child] = node
    return out
