"""What WF101 learns about a module before judging it: imports, classes, types of names.

Types are read from what the renderer writes and nothing else: a parameter
annotated with a dataclass, an attribute ``__init__`` declares on ``self``
(``list[...]``, ``dict[str, T]`` or ``T()``), a local bound only to a dict
display or to an item of such a dict. A name typed none of these ways is not
known to be safe, and attribute access on it is refused.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from copilot.rules._ast_limits import dotted, parents
from copilot.rules._ast_policy import DICT_METHODS, LIST_METHODS, SHARED_DATACLASSES

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class Facts:
    """A module's names and types, as far as WF101 trusts them."""

    tree: ast.Module
    parent: dict[ast.AST, ast.AST]
    imported: dict[str, str] = field(default_factory=dict)  # local name -> "module.name"
    module_names: set[str] = field(default_factory=set)
    dataclasses: dict[str, set[str]] = field(default_factory=dict)  # class -> fields
    workflow_class: ast.ClassDef | None = None
    methods: set[str] = field(default_factory=set)
    async_methods: set[str] = field(default_factory=set)
    updates: set[str] = field(default_factory=set)
    init_attrs: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    bound: set[str] = field(default_factory=set)

    def function_of(self, node: ast.AST) -> Function | None:
        """The def that ``node`` is in (through lambdas), or None at module or class level."""
        up = self.parent.get(node)
        while up is not None and not isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if isinstance(up, ast.ClassDef):
                return None
            up = self.parent.get(up)
        return up

    def is_method(self, func: Function) -> bool:
        return self.parent.get(func) is self.workflow_class and self.workflow_class is not None

    def attrs_of(self, owner: ast.expr, at: ast.AST) -> set[str] | None:
        """The attributes allowed on ``owner`` (an expression at ``at``); None if not known safe."""
        if isinstance(owner, ast.Name):
            return self._name_attrs(owner.id, at)
        chain = dotted(owner)
        if chain is not None and chain.startswith("self.") and chain.count(".") == 1:
            kind, _ = self.init_attrs.get(chain[5:], (None, None))
            if self._self_ok(at):
                return {"list": LIST_METHODS, "dict": DICT_METHODS}.get(kind or "")
        return None

    def _self_ok(self, at: ast.AST) -> bool:
        func = self.function_of(at)
        return (
            func is not None
            and self.is_method(func)
            and bool(func.args.args)
            and func.args.args[0].arg == "self"
        )

    def _name_attrs(self, name: str, at: ast.AST) -> set[str] | None:
        if name == "self":
            return self.methods | set(self.init_attrs) if self._self_ok(at) else None
        func = self.function_of(at)
        if func is None:
            return None
        params = [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]
        for arg in params:
            if arg.arg == name:
                typed = isinstance(arg.annotation, ast.Name)
                return self.dataclasses.get(arg.annotation.id) if typed else None
        return self._local_attrs(func, name)

    def _local_attrs(self, func: Function, name: str) -> set[str] | None:
        values = []
        for node in ast.walk(func):
            if isinstance(node, (ast.ExceptHandler, ast.arg)) and name in binds(node):
                return None
            if (
                isinstance(node, ast.Name)
                and node.id == name
                and not isinstance(node.ctx, ast.Load)
            ):
                assign = self.parent.get(node)
                if not (isinstance(assign, ast.Assign) and assign.targets == [node]):
                    return None
                values.append(assign.value)
        kinds = {self._value_kind(v) for v in values}
        if len(kinds) != 1:
            return None
        kind = kinds.pop()
        return DICT_METHODS if kind == "dict" else self.dataclasses.get(kind or "")

    def _value_kind(self, value: ast.expr) -> str | None:
        if isinstance(value, ast.Dict):
            return "dict"
        if isinstance(value, ast.Subscript):
            chain = dotted(value.value)
            if chain is not None and chain.startswith("self.") and chain.count(".") == 1:
                kind, item = self.init_attrs.get(chain[5:], (None, None))
                return item if kind == "dict" else None
        return None


def _init_attr(ann: ast.expr | None, value: ast.expr | None, known: set[str]) -> tuple:
    if isinstance(ann, ast.Subscript) and isinstance(ann.value, ast.Name):
        kind = ann.value.id if ann.value.id in ("list", "dict") else None
        item = ann.slice.elts[-1] if isinstance(ann.slice, ast.Tuple) else ann.slice
        return kind, item.id if isinstance(item, ast.Name) and item.id in known else None
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return None, value.func.id if value.func.id in known else None
    return ({ast.Dict: "dict", ast.List: "list"}.get(type(value)), None)


def _class_fields(node: ast.ClassDef) -> set[str]:
    return {
        s.target.id
        for s in node.body
        if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
    }


def _workflow_class(facts: Facts, node: ast.ClassDef) -> None:
    facts.workflow_class = node
    for item in node.body:
        if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        facts.methods.add(item.name)
        if isinstance(item, ast.AsyncFunctionDef):
            facts.async_methods.add(item.name)
        for dec in item.decorator_list:
            if isinstance(dec, ast.Call) and dotted(dec.func) == "workflow.update":
                facts.updates.add(item.name)
        if item.name != "__init__":
            continue
        for stmt in item.body:
            target = stmt.target if isinstance(stmt, ast.AnnAssign) else None
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target = stmt.targets[0]
            chain = dotted(target) if target is not None else None
            if chain is not None and chain.startswith("self.") and chain.count(".") == 1:
                ann = stmt.annotation if isinstance(stmt, ast.AnnAssign) else None
                known = set(facts.dataclasses)
                facts.init_attrs[chain[5:]] = _init_attr(ann, stmt.value, known)


def binds(node: ast.AST) -> list[str]:
    """The names ``node`` binds (assignment targets, defs, parameters, imports, except-as)."""
    if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
        return [node.id]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, ast.alias):
        return [(node.asname or node.name).split(".")[0]]
    if isinstance(node, ast.ExceptHandler) and node.name:
        return [node.name]
    return []


def module_facts(tree: ast.Module) -> Facts:
    """Imports, module-level names, dataclasses, the workflow class and its typed state."""
    facts = Facts(tree=tree, parent=parents(tree))
    for node in ast.walk(tree):
        facts.bound.update(binds(node))
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            for alias in node.names:
                facts.imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                facts.imported[(alias.asname or alias.name).split(".")[0]] = alias.name
    facts.dataclasses = {
        name: fields for name, fields in SHARED_DATACLASSES.items() if name in facts.imported
    }
    for node in tree.body:
        facts.module_names.update(binds(node))
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        facts.module_names.update(n for t in targets for n in binds(t))
        if not isinstance(node, ast.ClassDef):
            continue
        decorators = [dotted(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list]
        if decorators == ["dataclass"]:
            facts.dataclasses[node.name] = _class_fields(node)
        elif decorators == ["workflow.defn"] and facts.workflow_class is None:
            _workflow_class(facts, node)
    facts.module_names.update(facts.imported)
    return facts
