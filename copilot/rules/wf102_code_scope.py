"""WF102 code-scope: code calls only the gateway activity, with literal in-scope operations.

The static lock applied to code (rendered or edited by a human): every
``CallRequest(operation=...)`` must name, as a string literal, a catalog
operation the granted scopes allow, and ``workflow.execute_activity`` may run
only ``CALL_OPERATION``, so nothing reaches an API except through the
scope-checking gateway client.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from copilot.rules.base import Finding, Rule, RuleContext
from copilot.scopes import check_operation


def _operation_arg(call: ast.Call) -> ast.AST | None:
    for kw in call.keywords:
        if kw.arg == "operation":
            return kw.value
    return call.args[1] if len(call.args) > 1 else None


def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.tree is None:
        return
    f = RULE.finding
    for node in ast.walk(ctx.tree):
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        at = f"line {node.lineno}"
        if name == "workflow.execute_activity":
            first = node.args[0] if node.args else None
            if not (isinstance(first, ast.Name) and first.id == "CALL_OPERATION"):
                yield f(
                    f"{at}: execute_activity may run only CALL_OPERATION (the scoped gateway "
                    "activity); fix: call operations with CallRequest through it",
                    at,
                )
            if any(k.arg in ("task_queue", "activity_id") or k.arg is None for k in node.keywords):
                # Another task queue may be served by a worker that holds other scopes.
                yield f(
                    f"{at}: execute_activity may not choose its task queue or take **kwargs; "
                    "fix: let it run on the draft's own worker",
                    at,
                )
        elif name == "CallRequest":
            arg = _operation_arg(node)
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                yield f(
                    f"{at}: the operation of a CallRequest must be a string literal so its "
                    "scope can be checked before the workflow runs; fix: write the "
                    "operation id",
                    at,
                )
                continue
            op_id = arg.value
            if ctx.catalog.get_operation(op_id) is None:
                yield f(
                    f"{at}: {op_id!r} is not an operation of the catalog; fix: use an "
                    "operation id the granted scopes allow",
                    at,
                )
                continue
            decision = check_operation(ctx.catalog, ctx.scopes, op_id)
            if not decision.allowed:
                yield f(
                    f"{at}: {decision.reason}; fix: use an operation the granted scopes allow", at
                )


RULE = Rule(
    id="WF102",
    name="code-scope",
    severity="error",
    stages=("code",),
    summary="Code runs only the gateway activity, with literal operation ids the scopes grant.",
    check=check,
)
