"""WF102 code-scope: code runs only the gateway activity, with literal in-scope operations.

The static lock applied to code: every ``CallRequest(operation=...)`` names,
as a string literal, a catalog operation the granted scopes allow, and the
only way out of the workflow is the exact call the renderer writes,
``workflow.execute_activity(CALL_OPERATION, request, ...)``. Any other
reference to an API that starts work elsewhere (activities, local
activities, child workflows, continue-as-new, signals to other workflows) is
refused, whatever the owner expression or alias, and so is rebinding
``CALL_OPERATION`` or the ``workflow`` module, so nothing reaches an API
except through the scope-checking gateway client.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from copilot.rules._ast_facts import binds
from copilot.rules._ast_limits import dotted, limit_problem, parents
from copilot.rules.base import Finding, Rule, RuleContext
from copilot.scopes import check_operation

# Every workflow API that schedules work outside this workflow's own code.
OUTBOUND = re.compile(
    r"^((start|execute)_(local_)?activity(_method|_class)?|(start|execute)_child_workflow|"
    r"continue_as_new|signal_external\w*|get_external_workflow_handle\w*|create_nexus_client|"
    r"signal_with_start_workflow)$"
)
ACTIVITY_KEYWORDS = {
    "result_type",
    "start_to_close_timeout",
    "schedule_to_close_timeout",
    "retry_policy",
}
_PINNED = {"CALL_OPERATION": "workflows.runtime.shared", "workflow": "temporalio"}


def _operation_arg(call: ast.Call) -> ast.AST | None:
    for kw in call.keywords:
        if kw.arg == "operation":
            return kw.value
    return call.args[1] if len(call.args) > 1 else None


def _outbound(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and OUTBOUND.match(node.attr):
        return node.attr
    if isinstance(node, ast.Name) and OUTBOUND.match(node.id):
        return node.id
    if isinstance(node, ast.alias) and OUTBOUND.match(node.name.split(".")[-1]):
        return node.name
    return None


def _activity_call(node: ast.Call) -> Iterator[str]:
    """The exact shape: ``workflow.execute_activity(CALL_OPERATION, request, <keywords>)``."""
    first = node.args[0] if node.args else None
    if not (isinstance(first, ast.Name) and first.id == "CALL_OPERATION") or len(node.args) != 2:
        yield (
            "execute_activity may run only CALL_OPERATION (the scoped gateway activity) with "
            "one request; fix: call operations with CallRequest through it"
        )
    if any(isinstance(a, ast.Starred) for a in node.args):
        yield "execute_activity may not take *args; fix: pass CALL_OPERATION and the request"
    if any(k.arg not in ACTIVITY_KEYWORDS for k in node.keywords):
        # Another task queue may be served by a worker that holds other scopes.
        yield (
            "execute_activity may not choose its task queue, activity id or take **kwargs "
            f"(only {', '.join(sorted(ACTIVITY_KEYWORDS))}); fix: let it run on the draft's "
            "own worker"
        )


def _outbound_problems(node: ast.AST, parent: dict[ast.AST, ast.AST]) -> Iterator[str]:
    name = _outbound(node)
    if name is None:
        return
    call = parent.get(node)
    exact = (
        name == "execute_activity"
        and dotted(node) == "workflow.execute_activity"
        and isinstance(call, ast.Call)
        and call.func is node
    )
    if exact:
        yield from _activity_call(call)
    else:
        yield (
            f"`{name}` may appear only as `workflow.execute_activity(CALL_OPERATION, request, "
            "...)` (any other use can start work the scopes do not cover); fix: call operations "
            "with CallRequest through the gateway activity"
        )


def _pinned_problems(node: ast.AST, parent: dict[ast.AST, ast.AST]) -> Iterator[str]:
    """``CALL_OPERATION`` and ``workflow`` are bound once, by their imports, never again."""
    if isinstance(node, ast.alias):
        name = node.asname or node.name
        up = parent.get(node)
        source = up.module if isinstance(up, ast.ImportFrom) and not up.level else None
        if name in _PINNED and (source != _PINNED[name] or node.asname):
            yield f"`{name}` must come from {_PINNED[name]} only; fix: render the spec again"
        return
    for name in binds(node):
        if name in _PINNED:
            yield (
                f"`{name}` is rebound or deleted, so calls through it could reach another "
                "activity; fix: render the spec again"
            )


def _request_problems(ctx: RuleContext, node: ast.AST, parent: dict) -> Iterator[str]:
    if isinstance(node, ast.Attribute) and node.attr == "operation":
        if not isinstance(node.ctx, ast.Load):
            yield "a request's operation may not be changed after it is built; fix: remove it"
        return
    if not (isinstance(node, ast.Name) and node.id == "CallRequest"):
        return
    call = parent.get(node)
    if not (isinstance(call, ast.Call) and call.func is node):
        if not _in_annotation(node, parent):
            yield "CallRequest may only be called in place, so its operation can be checked"
        return
    arg = _operation_arg(call)
    if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
        yield (
            "the operation of a CallRequest must be a string literal so its scope can be "
            "checked before the workflow runs; fix: write the operation id"
        )
        return
    if ctx.catalog.get_operation(arg.value) is None:
        yield (
            f"{arg.value!r} is not an operation of the catalog; fix: use an operation id the "
            "granted scopes allow"
        )
        return
    decision = check_operation(ctx.catalog, ctx.scopes, arg.value)
    if not decision.allowed:
        yield f"{decision.reason}; fix: use an operation the granted scopes allow"


def _in_annotation(node: ast.AST, parent: dict[ast.AST, ast.AST]) -> bool:
    child, up = node, parent.get(node)
    while up is not None:
        if isinstance(up, ast.arg) and up.annotation is child:
            return True
        if isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef)) and up.returns is child:
            return True
        if isinstance(up, ast.AnnAssign) and up.annotation is child:
            return True
        child, up = up, parent.get(up)
    return False


def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.tree is None:
        return
    parent = parents(ctx.tree)
    seen: set[tuple[int, str]] = set()
    for node in ast.walk(ctx.tree):
        messages = [
            *_outbound_problems(node, parent),
            *_pinned_problems(node, parent),
            *_request_problems(ctx, node, parent),
        ]
        line = getattr(node, "lineno", None) or getattr(parent.get(node), "lineno", 0)
        for message in messages:
            if (line, message) not in seen:
                seen.add((line, message))
                yield RULE.finding(f"line {line}: {message}", f"line {line}")


RULE = Rule(
    id="WF102",
    name="code-scope",
    severity="error",
    stages=("code",),
    summary="Code runs only the gateway activity, exactly as rendered, with literal operation "
    "ids the scopes grant; no other way to start work outside the workflow.",
    check=check,
    limit=limit_problem,
)
