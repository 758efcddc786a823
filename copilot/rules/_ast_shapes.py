"""WF101's statement-level checks: what may run at import, and the shape of every def and class.

At import a rendered module runs its imports, binds literal constants and
defines two classes; the only code that runs is the decorators the SDK needs.
Class bodies hold a docstring, annotated fields with literal defaults and
methods; defaults are literals; annotations are plain types (the SDK evaluates
them). A name the module relies on is bound once and never rebound.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from copilot.rules._ast_facts import Facts, Function
from copilot.rules._ast_imports import is_passthrough
from copilot.rules._ast_limits import dotted
from copilot.rules._ast_policy import (
    CONSTANT_TYPES,
    DENIED,
    GENERIC_TYPES,
    MODULES,
    SAFE_BUILTINS,
    TYPE_NAMES,
)

Problem = tuple[int, str]
_AT_IMPORT = (
    "runs at import; fix: keep only imports, literal constants, classes and functions "
    "at module level"
)


def is_literal(node: ast.AST | None) -> bool:
    """A scalar literal (``-1`` included): the only default or constant a module may hold."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
        return isinstance(node, ast.Constant) and type(node.value) in (int, float)
    return isinstance(node, ast.Constant) and isinstance(node.value, CONSTANT_TYPES)


def is_constant(node: ast.AST) -> bool:
    """A literal, or a tuple or list of literals (module-level constants like SCOPES)."""
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(is_literal(e) for e in node.elts)
    return is_literal(node)


def _name_literal(call: ast.expr, func: str) -> bool:
    """``func(name=<string literal>)`` and nothing else."""
    return (
        isinstance(call, ast.Call)
        and dotted(call.func) == func
        and not call.args
        and len(call.keywords) == 1
        and call.keywords[0].arg == "name"
        and isinstance(call.keywords[0].value, ast.Constant)
        and isinstance(call.keywords[0].value.value, str)
    )


def module_problems(facts: Facts) -> Iterator[Problem]:
    """Module-level statements: what runs at import."""
    body = facts.tree.body
    future = any(
        isinstance(s, ast.ImportFrom)
        and s.module == "__future__"
        and s.names[0].name == "annotations"
        for s in body
    )
    if not future:
        yield (
            1,
            (
                "the module lacks `from __future__ import annotations` (without it annotations run "
                "at import); fix: render the spec again"
            ),
        )
    for i, node in enumerate(body):
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.ClassDef)):
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.decorator_list:
            continue
        if is_passthrough(node) or _is_docstring(node, i):
            continue
        constant = isinstance(node, ast.Assign) and is_constant(node.value)
        if constant and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            continue
        yield node.lineno, f"module-level {type(node).__name__} {_AT_IMPORT}"
    yield from _duplicates(body, "at module level")


def _is_docstring(node: ast.AST, index: int) -> bool:
    return (
        index == 0
        and isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _duplicates(body: list[ast.stmt], where: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for node in body:
        names = [a.asname or a.name for a in getattr(node, "names", []) if isinstance(a, ast.alias)]
        if isinstance(node, ast.With):
            names = [a.asname or a.name for s in node.body for a in getattr(s, "names", [])]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
        for name in names:
            if name in seen:
                yield node.lineno, f"`{name}` is bound twice {where}; fix: bind each name once"
            seen.add(name)


def class_problems(facts: Facts, node: ast.ClassDef, vetted: set[int]) -> Iterator[Problem]:
    """A class: no bases or metaclass, one SDK decorator, a body of fields and methods."""
    at = node.lineno
    if node.bases or node.keywords:
        yield at, f"class {node.name} may not have bases or a metaclass; fix: remove them"
    is_workflow = node is facts.workflow_class
    decorators = node.decorator_list
    ok = len(decorators) == 1 and (
        dotted(decorators[0]) == "dataclass"
        or (is_workflow and _name_literal(decorators[0], "workflow.defn"))
    )
    if ok:
        vetted.update(id(n) for n in ast.walk(decorators[0]))
    else:
        yield (
            at,
            (
                f'class {node.name} needs exactly @dataclass or @workflow.defn(name="...") '
                "(decorators run at import); fix: render the spec again"
            ),
        )
    for i, item in enumerate(node.body):
        field = isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
        if field and (item.value is None or is_literal(item.value)):
            continue
        if isinstance(item, ast.Pass) or _is_docstring(item, i):
            continue
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from function_problems(facts, item, vetted)
            if is_workflow:
                continue
        yield (
            item.lineno,
            (
                f"class {node.name} body holds a {type(item).__name__}, which runs at import; fix: "
                "keep to a docstring, annotated fields with literal defaults and methods"
            ),
        )
    yield from _duplicates(node.body, f"in class {node.name}")


def function_problems(facts: Facts, func: Function, vetted: set[int]) -> Iterator[Problem]:
    """A def: its name, decorators, parameters and defaults."""
    at, name = func.lineno, func.name
    method = facts.is_method(func)
    if name.startswith("__") and not (method and name == "__init__"):
        yield (
            at,
            (
                f"special method `{name}` runs behind the workflow's back (class creation, attribute "
                "access, conversions); fix: remove it"
            ),
        )
    if not _decorators_ok(facts, func, method):
        yield (
            at,
            (
                f"the decorators of `{name}` are not the SDK's (@workflow.run, @workflow.query/update/"
                "signal(name=...), @<update>.validator); fix: render the spec again"
            ),
        )
    else:
        vetted.update(id(n) for d in func.decorator_list for n in ast.walk(d))
    args = func.args
    if args.vararg or args.kwarg:
        yield at, f"`{name}` may not take *args or **kwargs; fix: name each parameter"
    for default in [*args.defaults, *args.kw_defaults]:
        if default is not None and not is_literal(default):
            yield (
                default.lineno,
                (
                    f"a default of `{name}` is not a literal (defaults run at import); fix: use a "
                    "string, number, True, False or None"
                ),
            )
    first = (args.posonlyargs + args.args)[:1]
    if method and [a.arg for a in first] != ["self"]:
        yield at, f"method `{name}` must take self first; fix: render the spec again"


def _decorators_ok(facts: Facts, func: Function, method: bool) -> bool:
    decorators = func.decorator_list
    if not decorators:
        return True
    if not method or len(decorators) > 1:
        return False
    dec = decorators[0]
    chain = dotted(dec)
    if chain == "workflow.run":
        return True
    if (
        isinstance(dec, ast.Attribute)
        and isinstance(dec.value, ast.Name)
        and dec.attr == "validator"
    ):
        return dec.value.id in facts.updates
    return any(_name_literal(dec, f"workflow.{kind}") for kind in ("query", "update", "signal"))


def annotation_roots(tree: ast.Module) -> list[ast.expr]:
    """Every annotation (the SDK evaluates them when it reads type hints)."""
    roots: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            roots.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns:
            roots.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
    return roots


def annotation_problems(facts: Facts, root: ast.expr) -> Iterator[Problem]:
    """An annotation is a plain type: names of types, ``X[...]``, ``X | None``."""
    classes = {n.name for n in facts.tree.body if isinstance(n, ast.ClassDef)}
    types = (TYPE_NAMES | classes | {"timedelta", "RetryPolicy"} | set(facts.dataclasses)) & (
        facts.bound | TYPE_NAMES
    )
    for sub in ast.walk(root):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            yield (
                sub.lineno,
                (
                    "a string in an annotation is evaluated when the SDK reads type hints; fix: "
                    "write the type itself, not a string"
                ),
            )
        elif not _plain_type_part(sub, types):
            yield (
                getattr(sub, "lineno", root.lineno),
                (
                    f"annotation `{type(sub).__name__}` is not a plain type (the SDK evaluates "
                    "annotations); fix: write a type such as str, dict[str, Any] or a dataclass"
                ),
            )


def _plain_type_part(node: ast.AST, types: set[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id in types
    if isinstance(node, ast.Subscript):
        return dotted(node.value) in GENERIC_TYPES
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, ast.BitOr)
    if isinstance(node, ast.Constant):
        return node.value is None
    return isinstance(node, (ast.Tuple, ast.Load, ast.BitOr))


def rebinding_problems(facts: Facts, node: ast.AST, names: list[str]) -> Iterator[Problem]:
    """A binding inside a def or a workflow class of a name the module relies on."""
    scope = facts.parent.get(node)
    while not isinstance(scope, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        if scope is None:
            return
        scope = facts.parent.get(scope)
    if isinstance(scope, ast.Module) or (
        isinstance(scope, ast.ClassDef) and scope is not facts.workflow_class
    ):
        return  # module level: bound once (duplicates); dataclass fields: any spec input name
    protected = facts.module_names | set(MODULES) | SAFE_BUILTINS | DENIED | {"self"}
    for name in names:
        if name not in protected or (isinstance(node, ast.arg) and name == "self"):
            continue
        yield (
            getattr(node, "lineno", 0),
            (
                f"`{name}` is rebound here, shadowing the name the module relies on; fix: use "
                "another name"
            ),
        )
