"""WF101's import checks: what a drafted module may import, and the one ``with`` it may hold.

A module imports from the allow-list only, never under another name, at the
top of the module; the shared helpers come in through
``workflow.unsafe.imports_passed_through()``, the one use of ``workflow.unsafe``
a drafted module may make.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from copilot.rules._ast_limits import dotted
from copilot.rules._ast_policy import ALLOWED_FROM, ALLOWED_IMPORT, DENIED_MODULES, NETWORK

_FIX_NET = "fix: call operations only through the gateway activity (CALL_OPERATION)"


def import_problems(node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """Imports outside the allow-list (with the gateway hint for network modules)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name not in ALLOWED_IMPORT or alias.asname:
                yield f"`import {alias.name}` is not allowed; {_fix(alias.name, None)}"
        return
    module = node.module or ""
    allowed = ALLOWED_FROM.get(module) if node.level == 0 else None
    for alias in node.names:
        if allowed is None or alias.name not in allowed or alias.asname:
            yield (
                f"`from {'.' * node.level}{module} import {alias.name}` is not allowed; "
                + _fix(module, allowed)
            )


def _fix(module: str, allowed: set[str] | None) -> str:
    root = module.split(".")[0]
    if root in NETWORK:
        return _FIX_NET
    if root in DENIED_MODULES:
        return f"fix: remove it ({root} reaches the interpreter, the disk or processes)"
    if allowed:
        return f"fix: import only {', '.join(sorted(allowed))}"
    return "fix: import only what drafted workflows use (see `atc rules list`)"


def is_passthrough(node: ast.AST) -> bool:
    """``with workflow.unsafe.imports_passed_through():`` around imports of the shared names."""
    if not isinstance(node, ast.With) or len(node.items) != 1:
        return False
    item = node.items[0]
    call = item.context_expr
    return (
        item.optional_vars is None
        and isinstance(call, ast.Call)
        and dotted(call.func) == "workflow.unsafe.imports_passed_through"
        and not call.args
        and not call.keywords
        and all(
            isinstance(s, ast.ImportFrom) and s.module == "workflows.runtime.shared" and not s.level
            for s in node.body
        )
    )
