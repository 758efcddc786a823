"""WF003 out-of-scope: every call is granted by the chosen scopes (Apigee's matching).

The static lock of docs/architecture.md, 'Three locks on scope':
:func:`copilot.scopes.check_operation` grants an operation only when an API product of a
granted scope allows its method on every concrete path of its template.
"""

from __future__ import annotations

from collections.abc import Iterator

from copilot.rules.base import Finding, Rule, RuleContext
from copilot.scopes import check_operation


def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.spec is None:
        return
    for step in ctx.spec.operation_steps():
        if ctx.catalog.get_operation(step.operation) is None:
            continue  # WF002 reports it
        decision = check_operation(ctx.catalog, ctx.scopes, step.operation)
        if not decision.allowed:
            need = " or ".join(decision.required) or "a scope no API product offers"
            yield RULE.finding(
                f"step {step.id}: {decision.reason}; fix: use an operation the granted scopes "
                f"allow, or draft again with scope {need} granted",
                where=f"steps.{step.id}.operation",
            )


RULE = Rule(
    id="WF003",
    name="out-of-scope",
    severity="error",
    stages=("spec",),
    summary="Every call is granted by the chosen scopes under Apigee's resource and method matching.",
    check=check,
)
