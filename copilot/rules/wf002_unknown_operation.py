"""WF002 unknown-operation: every call names an operation of the catalog, by id."""

from __future__ import annotations

from collections.abc import Iterator

from copilot.rules.base import Finding, Rule, RuleContext


def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.spec is None:
        return
    allowed = [op.id for op in ctx.catalog.operations_for(ctx.scopes)]
    hint = ", ".join(allowed[:12]) + (", ..." if len(allowed) > 12 else "") or "none"
    for step in ctx.spec.operation_steps():
        if ctx.catalog.get_operation(step.operation) is None:
            yield RULE.finding(
                f"step {step.id} calls {step.operation!r}, which is not an operation of the "
                f"catalog; fix: use an operation id the granted scopes allow ({hint})",
                where=f"steps.{step.id}.operation",
            )


RULE = Rule(
    id="WF002",
    name="unknown-operation",
    severity="error",
    stages=("spec",),
    summary="Every call names a catalog operation by id (never a URL or an invented name).",
    check=check,
)
