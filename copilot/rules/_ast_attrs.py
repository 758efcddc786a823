"""WF101's attribute checks: which attributes may be read or written, on which owners.

Attribute access is allowed only on a bare name known to be safe (``self``,
``workflow``, ``asyncio``, a typed parameter or local) and only to attributes
that name holds, plus the few chains the renderer writes (``self._path.append``,
``workflow.logger.warning``, ``(workflow.now() + d).isoformat``). Attributes
that reach frames, code or tracebacks are refused on every owner. The
workflow API's functions are only ever called: an alias would hide them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from copilot.rules import _ast_policy as policy
from copilot.rules._ast_facts import Facts
from copilot.rules._ast_limits import dotted

_FIX = "fix: render the spec again"


def attribute_problems(facts: Facts, node: ast.Attribute) -> Iterator[str]:
    """What is wrong with one attribute access (read or write)."""
    attr, owner = node.attr, node.value
    if attr.startswith("__"):
        yield f"dunder access `.{attr}` is not allowed; fix: remove it"
    elif isinstance(node.ctx, ast.Store):
        yield from _store(facts, node)
    elif isinstance(owner, ast.Name) and owner.id in policy.MODULES and owner.id in facts.imported:
        yield from _module_attr(facts, node, owner.id)
    elif dotted(owner) == "workflow.logger":
        if attr not in policy.LOG_METHODS or not _called(facts, node):
            yield f"`workflow.logger.{attr}` is not allowed (only called: {_LOG}); {_FIX}"
    elif dotted(owner) == "workflow.unsafe":
        yield f"`workflow.unsafe.{attr}` is not allowed; fix: remove it"
    elif _is_now_plus(owner):
        if attr != "isoformat" or not _called(facts, node):
            yield f"`.{attr}` on a time is not allowed (only .isoformat()); {_FIX}"
    elif attr.startswith("_") and not (isinstance(owner, ast.Name) and owner.id == "self"):
        yield f"private attribute `.{attr}` of another object is not allowed; fix: remove it"
    else:
        yield from _known_owner(facts, node)


_LOG = ", ".join(sorted(policy.LOG_METHODS))


def _called(facts: Facts, node: ast.expr) -> bool:
    up = facts.parent.get(node)
    return isinstance(up, ast.Call) and up.func is node


def _module_attr(facts: Facts, node: ast.Attribute, module: str) -> Iterator[str]:
    attr = node.attr
    if attr in policy.MODULE_CALLS[module]:
        if not _called(facts, node):
            yield (
                f"`{module}.{attr}` may only be called, not stored or passed (an alias hides "
                "it from the rules); fix: call it directly"
            )
    elif module == "workflow" and attr == "logger":
        up = facts.parent.get(node)
        if not (isinstance(up, ast.Attribute) and up.value is node):
            yield f"`workflow.logger` may only be used as workflow.logger.<level>(...); {_FIX}"
    elif module == "workflow" and attr in policy.WORKFLOW_DECORATORS:
        yield f"`workflow.{attr}` may only decorate, as the renderer writes it; {_FIX}"
    elif module == "workflow" and attr in ("unsafe", "all_handlers_finished"):
        yield f"`workflow.{attr}` is allowed only where the renderer writes it; {_FIX}"
    else:
        yield f"`{module}.{attr}` is not allowed in a drafted workflow; fix: remove it"


def _is_now_plus(owner: ast.expr) -> bool:
    """``(workflow.now() + <duration>)``: the one expression the renderer reads an attribute of."""
    return (
        isinstance(owner, ast.BinOp)
        and isinstance(owner.op, ast.Add)
        and isinstance(owner.left, ast.Call)
        and dotted(owner.left.func) == "workflow.now"
        and not owner.left.args
        and not owner.left.keywords
    )


def _store(facts: Facts, node: ast.Attribute) -> Iterator[str]:
    owner, attr = node.value, node.attr
    if isinstance(owner, ast.Name) and owner.id == "self":
        if attr in facts.init_attrs and attr not in facts.methods and facts.attrs_of(owner, node):
            return
    elif isinstance(owner, ast.Name):
        func = facts.function_of(node)
        params = func.args.args if func is not None else []
        ann = next((a.annotation for a in params if a.arg == owner.id), None)
        if isinstance(ann, ast.Name) and attr in policy.FIELD_WRITES.get(ann.id, ()):
            return
    yield (
        f"assigning `.{attr}` here is not allowed (only state that __init__ declares on self); "
        f"{_FIX}"
    )


def _known_owner(facts: Facts, node: ast.Attribute) -> Iterator[str]:
    owner, attr = node.value, node.attr
    allowed = facts.attrs_of(owner, node)
    if attr in policy.DENIED_ATTRS:
        yield f"`.{attr}` is not allowed (it can reach hidden attributes); fix: use + to join text"
    elif allowed is not None and attr in allowed:
        return
    elif allowed is None:
        what = (
            f"`{owner.id}`"
            if isinstance(owner, ast.Name)
            else f"an expression ({type(owner).__name__})"
        )
        yield (
            f"attribute access `.{attr}` on {what} is not allowed: only on self, workflow, "
            f"asyncio and typed parameters, as the renderer writes it; {_FIX}"
        )
    else:
        yield f"`.{attr}` is not an attribute the renderer uses here; {_FIX}"
