"""WF101 ast-allow-list: drafted code uses only what a drafted workflow needs.

Rendered or human-edited, the module may import only the names below, may
run nothing at import time but imports and literal constants, may not touch
dunders, private attributes of other objects, ``str.format`` (which can
reach dunders from a string), ``eval``/``exec``/``open``/``__import__``/
``getattr`` and friends, or any module that reaches the network or the
disk: every API call goes through the gateway activity (``CALL_OPERATION``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from copilot.rules.base import Finding, Rule, RuleContext
from workflows.drafts import shared

ALLOWED_FROM = {
    "__future__": {"annotations"},
    "dataclasses": {"dataclass", "field"},
    "datetime": {"timedelta"},
    "typing": {"Any"},
    "temporalio": {"workflow"},
    "temporalio.common": {"RetryPolicy"},
    "temporalio.exceptions": {"ApplicationError"},
    "workflows.drafts.shared": set(shared.__all__),
}
ALLOWED_IMPORT = {"asyncio"}
MODULE_ATTRS = {
    "asyncio": {"gather"},
    "workflow": {
        "defn",
        "run",
        "update",
        "signal",
        "query",
        "execute_activity",
        "wait_condition",
        "sleep",
        "now",
        "info",
        "logger",
        "all_handlers_finished",
        "unsafe",
    },
}
SAFE_BUILTINS = {
    "str",
    "int",
    "float",
    "bool",
    "dict",
    "list",
    "tuple",
    "set",
    "len",
    "range",
    "min",
    "max",
    "abs",
    "round",
    "sorted",
    "enumerate",
    "zip",
    "any",
    "all",
    "isinstance",
    "TimeoutError",
    "ValueError",
    "KeyError",
    "True",
    "False",
    "None",
}
DENIED = {
    "eval",
    "exec",
    "compile",
    "open",
    "__import__",
    "globals",
    "locals",
    "vars",
    "getattr",
    "setattr",
    "delattr",
    "hasattr",
    "breakpoint",
    "input",
    "memoryview",
    "type",
    "object",
    "super",
    "help",
    "exit",
    "quit",
    "print",
    "id",
    "dir",
}
NETWORK = {"httpx", "requests", "urllib", "urllib3", "socket", "http", "aiohttp", "ssl", "grpc"}
# Attributes that reach interpreter internals (frames, code) or dunders through a string.
DENIED_ATTRS = {
    "format", "format_map", "mro", "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame",
    "ag_code", "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "tb_frame", "tb_next",
}  # fmt: skip
_FIX_NET = "fix: call operations only through the gateway activity (CALL_OPERATION)"


def _bound_names(tree: ast.Module) -> set[str]:
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound


def _imports(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            root = alias.name.split(".")[0]
            if alias.name not in ALLOWED_IMPORT or alias.asname:
                fix = _FIX_NET if root in NETWORK else "fix: import only what drafted workflows use"
                yield f"`import {alias.name}` is not allowed; {fix}"
    elif isinstance(node, ast.ImportFrom):
        module = node.module or ""
        allowed = ALLOWED_FROM.get(module) if node.level == 0 else None
        for alias in node.names:
            if allowed is None or alias.name not in allowed or alias.asname:
                root = module.split(".")[0]
                fix = (
                    _FIX_NET
                    if root in NETWORK
                    else (
                        f"fix: import only {', '.join(sorted(allowed))}"
                        if allowed
                        else "fix: import only what drafted workflows use (see `atc rules list`)"
                    )
                )
                yield f"`from {'.' * node.level}{module} import {alias.name}` is not allowed; {fix}"


def _is_passthrough(node: ast.With) -> bool:
    if len(node.items) != 1:
        return False
    call = node.items[0].context_expr
    return (
        isinstance(call, ast.Call)
        and ast.unparse(call.func) == "workflow.unsafe.imports_passed_through"
        and not call.args
        and all(
            isinstance(s, ast.ImportFrom) and s.module == "workflows.drafts.shared"
            for s in node.body
        )
    )


def _module_level(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for i, node in enumerate(tree.body):
        if isinstance(
            node, (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
        ):
            continue
        if isinstance(node, ast.With) and _is_passthrough(node):
            continue
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            try:
                ast.literal_eval(node.value)
                continue
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                pass
        yield (
            node.lineno,
            (
                f"module-level {type(node).__name__} runs at import; fix: keep only "
                "imports, literal constants, classes and functions at module level"
            ),
        )


def _node_problems(node: ast.AST, bound: set[str], passthrough: set[int]) -> Iterator[str]:
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        yield f"`{type(node).__name__.lower()}` is not allowed; fix: keep state on self"
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        yield from _imports(node)
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        if node.id in DENIED or node.id.startswith("__"):
            yield f"`{node.id}` is not allowed in a workflow; fix: remove it"
        elif node.id not in bound and node.id not in SAFE_BUILTINS:
            yield f"name `{node.id}` is neither defined here nor an allowed builtin; fix: remove it"
    elif isinstance(node, ast.Attribute):
        attr, owner = node.attr, node.value
        if attr.startswith("__"):
            yield f"dunder access `.{attr}` is not allowed; fix: remove it"
        elif attr.startswith("_") and not (isinstance(owner, ast.Name) and owner.id == "self"):
            yield f"private attribute `.{attr}` of another object is not allowed; fix: remove it"
        elif attr in DENIED_ATTRS:
            yield f"`.{attr}` is not allowed (it can reach hidden attributes); fix: use + to join text"
        elif (
            isinstance(owner, ast.Name)
            and owner.id in MODULE_ATTRS
            and attr not in MODULE_ATTRS[owner.id]
        ):
            yield f"`{owner.id}.{attr}` is not allowed in a drafted workflow; fix: remove it"
        elif ast.unparse(owner) == "workflow.unsafe" and id(node) not in passthrough:
            yield f"`workflow.unsafe.{attr}` is not allowed; fix: remove it"
    elif isinstance(node, ast.Match):
        yield "`match` is not allowed (class patterns read attributes by name); fix: use if/elif"
    elif isinstance(node, ast.Call) and ast.unparse(node.func) == "workflow.defn":
        if any(k.arg == "sandboxed" for k in node.keywords):
            yield "`workflow.defn(sandboxed=...)` is not allowed; fix: keep the workflow sandboxed"
    elif isinstance(node, ast.ClassDef) and (node.bases or node.keywords):
        yield f"class {node.name} may not have bases or a metaclass; fix: remove them"


def _annotation_strings(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """String constants inside annotations: the SDK evaluates type hints, so text there runs."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            roots.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            roots.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
    for root in roots:
        for sub in ast.walk(root):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                yield (
                    sub.lineno,
                    (
                        "a string in an annotation is evaluated when the SDK reads type "
                        "hints; fix: write the type itself, not a string"
                    ),
                )


def check(ctx: RuleContext) -> Iterator[Finding]:
    tree = ctx.tree
    if tree is None:
        return
    seen: set[tuple[int, str]] = set()
    problems = list(_module_level(tree)) + list(_annotation_strings(tree))
    passthrough = {
        id(n.items[0].context_expr.func)
        for n in tree.body
        if isinstance(n, ast.With) and _is_passthrough(n)
    }
    bound = _bound_names(tree)
    for node in ast.walk(tree):
        for message in _node_problems(node, bound, passthrough):
            problems.append((getattr(node, "lineno", 0), message))
    for line, message in sorted(problems):
        if (line, message) not in seen:
            seen.add((line, message))
            yield RULE.finding(f"line {line}: {message}", f"line {line}")


RULE = Rule(
    id="WF101",
    name="ast-allow-list",
    severity="error",
    stages=("code",),
    summary="Code imports and uses only what drafted workflows need: no eval/exec/open/"
    "__import__/getattr tricks, no dunders, no direct httpx or sockets.",
    check=check,
)
