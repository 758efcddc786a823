"""WF009 parameters: a call fills exactly the path parameters its operation's template has."""

from __future__ import annotations

from collections.abc import Iterator

from copilot.rules.base import Finding, Rule, RuleContext

_NO_BODY = ("GET", "DELETE", "HEAD")


def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.spec is None:
        return
    f = RULE.finding
    for step in ctx.spec.operation_steps():
        op = ctx.catalog.get_operation(step.operation)
        if op is None:
            continue
        at = f"steps.{step.id}.params"
        given = [p.name for p in step.params]
        expected = list(op.params)
        missing = [p for p in expected if p not in given]
        extra = [p for p in given if p not in expected]
        dupes = sorted({p for p in given if given.count(p) > 1})
        if missing:
            yield f(
                f"step {step.id}: {op.id} ({op.method} {op.full_template}) needs path "
                f"parameter(s) {', '.join(missing)}; fix: add them to params",
                at,
            )
        if extra:
            yield f(
                f"step {step.id}: {op.id} has no path parameter(s) {', '.join(extra)}; fix: "
                f"remove them (its template is {op.full_template}; query values go in query)",
                at,
            )
        if dupes:
            yield f(
                f"step {step.id}: parameter(s) {', '.join(dupes)} given twice; fix: give each once",
                at,
            )
        if step.body and op.method in _NO_BODY:
            yield f(
                f"step {step.id}: {op.method} {op.full_template} takes no body; fix: move "
                "the values to query or params",
                f"steps.{step.id}.body",
                severity="warning",
            )


RULE = Rule(
    id="WF009",
    name="parameters",
    severity="error",
    stages=("spec",),
    summary="Calls fill exactly their operation's path parameters; GET/DELETE carry no body.",
    check=check,
)
