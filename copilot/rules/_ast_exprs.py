"""WF101's node-level checks: syntax, names, calls and aliasing (attributes: _ast_attrs).

Only the syntax the renderer writes is allowed. Modules, imported names and
module-level classes are only ever called (or decorate, or annotate): storing
or passing one as a value is aliasing, which would let code reach them where
no rule looks. Coroutines are awaited where they are made.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from copilot.rules._ast_attrs import attribute_problems
from copilot.rules._ast_facts import Facts
from copilot.rules._ast_imports import import_problems, is_passthrough
from copilot.rules._ast_limits import dotted
from copilot.rules._ast_policy import (
    ALLOWED_NODES,
    AWAITED_CALLS,
    CONSTANT_TYPES,
    DENIED,
    MODULES,
    NODE_REASONS,
    SAFE_BUILTINS,
)
from copilot.rules._ast_shapes import is_literal

_FIX = "fix: render the spec again"


def node_problems(facts: Facts, node: ast.AST) -> Iterator[str]:
    """What is wrong with one node (its children are checked on their own)."""
    if isinstance(node, ast.expr_context):
        return  # `del` is refused at its statement
    if not isinstance(node, ALLOWED_NODES):
        kind = type(node).__name__
        reason = NODE_REASONS.get(kind, "it is not something the renderer writes")
        yield f"`{kind}` is not allowed in a drafted workflow ({reason}); {_FIX}"
        return
    check = _CHECKS.get(type(node))
    if check is not None:
        yield from check(facts, node)


def _name(facts: Facts, node: ast.Name) -> Iterator[str]:
    name = node.id
    if not isinstance(node.ctx, ast.Load):
        if name.startswith("__"):  # __builtins__, __slots__, __getattr__...: special to Python
            yield f"binding the special name `{name}` is not allowed; {_FIX}"
        return
    if name in DENIED or name.startswith("__"):
        yield f"`{name}` is not allowed in a workflow; fix: remove it"
    elif name not in facts.bound and name not in SAFE_BUILTINS:
        yield f"name `{name}` is neither defined here nor an allowed builtin; fix: remove it"
    elif _is_object(facts, name) and not _called_or_owner(facts, node):
        yield (
            f"`{name}` is used as a value (aliasing or passing it hides it from the rules); "
            "fix: call it directly"
        )


def _is_object(facts: Facts, name: str) -> bool:
    """Imported names and module-level classes and functions (not literal constants)."""
    if name in facts.imported or name in MODULES:
        return True
    return any(
        isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name
        for n in facts.tree.body
    )


def _called_or_owner(facts: Facts, node: ast.expr) -> bool:
    up = facts.parent.get(node)
    if isinstance(up, ast.Call) and up.func is node:
        return True
    if isinstance(up, ast.Attribute) and up.value is node:
        return True
    if isinstance(up, ast.Tuple):
        up, node = facts.parent.get(up), up
    return isinstance(up, ast.ExceptHandler) and up.type is node


def _call(facts: Facts, node: ast.Call) -> Iterator[str]:
    if not isinstance(node.func, (ast.Name, ast.Attribute)):
        yield f"calling a {type(node.func).__name__} is not allowed (call names only); {_FIX}"
    if any(k.arg is None for k in node.keywords):
        yield f"`**` arguments are not allowed (they hide what is passed); {_FIX}"
    if _makes_coroutine(facts, node) and not _awaited(facts, node):
        yield (
            "a coroutine must be awaited where it is made (held as a value, its frame reaches "
            f"the module's globals); {_FIX}"
        )


def _makes_coroutine(facts: Facts, call: ast.Call) -> bool:
    chain = dotted(call.func) or ""
    method = chain.startswith("self.") and chain[5:] in facts.async_methods
    return method or chain in AWAITED_CALLS or chain == "asyncio.gather"


def _awaited(facts: Facts, call: ast.Call) -> bool:
    """``await <call>``, or a step method passed straight to an awaited asyncio.gather."""
    up = facts.parent.get(call)
    if isinstance(up, ast.Await):
        return True
    gathered = (
        isinstance(up, ast.Call)
        and dotted(up.func) == "asyncio.gather"
        and call in up.args
        and (dotted(call.func) or "").startswith("self.")
    )
    return gathered and isinstance(facts.parent.get(up), ast.Await)


def _constant(facts: Facts, node: ast.Constant) -> Iterator[str]:
    if not isinstance(node.value, CONSTANT_TYPES):
        yield f"a {type(node.value).__name__} literal is not allowed; {_FIX}"


def _binop(facts: Facts, node: ast.BinOp) -> Iterator[str]:
    if isinstance(node.op, ast.Mod) and not isinstance(node.left, ast.Constant):
        yield f"`%` formatting of a string that is not a literal is not allowed; {_FIX}"


def _formatted(facts: Facts, node: ast.FormattedValue) -> Iterator[str]:
    spec = node.format_spec
    if spec is not None and not all(isinstance(v, ast.Constant) for v in spec.values):
        yield f"an f-string format spec must be a literal; {_FIX}"


def _lambda(facts: Facts, node: ast.Lambda) -> Iterator[str]:
    up = facts.parent.get(node)
    at_wait = isinstance(up, ast.Call) and dotted(up.func) == "workflow.wait_condition"
    args = node.args
    has_args = args.posonlyargs or args.args or args.kwonlyargs or args.vararg or args.kwarg
    if not at_wait or up.args[:1] != [node] or has_args:
        yield f"a lambda is allowed only as the condition of workflow.wait_condition; {_FIX}"


def _expr(facts: Facts, node: ast.Expr) -> Iterator[str]:
    if isinstance(node.value, (ast.Call, ast.Await)):
        return
    up = facts.parent.get(node)
    body = getattr(up, "body", [])
    docstring = isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
    if not (docstring and body and body[0] is node):
        yield f"an expression statement that is not a call is not allowed; {_FIX}"


def _for(facts: Facts, node: ast.For) -> Iterator[str]:
    it = node.iter
    bounded = (
        isinstance(it, ast.Call)
        and dotted(it.func) == "range"
        and not it.keywords
        and all(is_literal(a) for a in it.args)
    )
    if not isinstance(node.target, ast.Name) or not bounded:
        yield f"a for loop must be `for <name> in range(<literal>)`; {_FIX}"


def _assign(facts: Facts, node: ast.Assign | ast.AnnAssign) -> Iterator[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    if len(targets) != 1 or not isinstance(targets[0], (ast.Name, ast.Attribute, ast.Subscript)):
        yield f"assign one target at a time (no unpacking or chains); {_FIX}"


def _with(facts: Facts, node: ast.With) -> Iterator[str]:
    if not (is_passthrough(node) and facts.parent.get(node) is facts.tree):
        yield (
            "`with` is allowed only as the module's `workflow.unsafe.imports_passed_through()` "
            f"around the shared imports; {_FIX}"
        )


def _import(facts: Facts, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    yield from import_problems(node)
    up = facts.parent.get(node)
    top = up is facts.tree or (is_passthrough(up) and facts.parent.get(up) is facts.tree)
    if not top:
        yield f"imports belong at the top of the module; {_FIX}"


def _def(facts: Facts, node: ast.AST) -> Iterator[str]:
    up = facts.parent.get(node)
    if isinstance(node, ast.ClassDef) and up is not facts.tree:
        yield f"a class inside another class or def is not allowed; {_FIX}"
    elif not isinstance(up, (ast.Module, ast.ClassDef)):
        yield f"a def inside a def is not allowed (closures share state unseen); {_FIX}"


_CHECKS = {
    ast.Name: _name,
    ast.Attribute: attribute_problems,
    ast.Call: _call,
    ast.Constant: _constant,
    ast.BinOp: _binop,
    ast.FormattedValue: _formatted,
    ast.Lambda: _lambda,
    ast.Expr: _expr,
    ast.For: _for,
    ast.Assign: _assign,
    ast.AnnAssign: _assign,
    ast.With: _with,
    ast.Import: _import,
    ast.ImportFrom: _import,
    ast.ClassDef: _def,
    ast.FunctionDef: _def,
    ast.AsyncFunctionDef: _def,
}
