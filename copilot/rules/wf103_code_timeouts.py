"""WF103 code-timeouts: activities, waits and retries in code are bounded.

Edited code is held to the same bounds as specs (WF004/WF005/WF010): an
activity needs a start-to-close (or schedule-to-close) timeout and a retry
policy with a maximum number of attempts; ``wait_condition`` needs a timeout
(waiting for ``all_handlers_finished`` before returning is the exception).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from copilot.rules._ast_limits import dotted, limit_problem
from copilot.rules.base import Finding, Rule, RuleContext

MAX_ATTEMPTS = 50


def _kw(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.tree is None:
        return
    f = RULE.finding
    for node in ast.walk(ctx.tree):
        if not isinstance(node, ast.Call):
            continue
        name, at = dotted(node.func), f"line {node.lineno}"
        if name == "workflow.execute_activity":
            if (
                _kw(node, "start_to_close_timeout") is None
                and _kw(node, "schedule_to_close_timeout") is None
            ):
                yield f(
                    f"{at}: an activity without a timeout; fix: pass start_to_close_timeout", at
                )
            if _kw(node, "retry_policy") is None:
                yield f(
                    f"{at}: an activity without a retry policy retries forever; fix: pass "
                    "retry_policy=RetryPolicy(..., maximum_attempts=N)",
                    at,
                )
        elif name == "workflow.wait_condition":
            first = dotted(node.args[0]) if node.args else None
            if first != "workflow.all_handlers_finished" and _kw(node, "timeout") is None:
                yield f(
                    f"{at}: wait_condition without a timeout may wait forever; fix: pass "
                    "timeout=timedelta(...)",
                    at,
                )
        elif name == "RetryPolicy":
            attempts = _kw(node, "maximum_attempts")
            bounded = (
                isinstance(attempts, ast.Constant)
                and isinstance(attempts.value, int)
                and 1 <= attempts.value <= MAX_ATTEMPTS
            )
            if not bounded:
                yield f(
                    f"{at}: RetryPolicy needs maximum_attempts as a literal 1-{MAX_ATTEMPTS} "
                    "(0 or none means forever); fix: set it",
                    at,
                )


RULE = Rule(
    id="WF103",
    name="code-timeouts",
    severity="error",
    stages=("code",),
    summary="Activities have timeouts and bounded retry policies; waits have timeouts.",
    check=check,
    limit=limit_problem,
)
