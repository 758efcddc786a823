"""WF008 references: every ``${...}`` names an input or an earlier step's result."""

from __future__ import annotations

from collections.abc import Iterator

from copilot.drafting.refs import malformed_refs, refs_in, template_values
from copilot.drafting.spec import ApprovalStep, CallStep, NotifyStep
from copilot.rules._graph import build_flow
from copilot.rules.base import Finding, Rule, RuleContext

_SYNTAX = "${inputs.NAME} or ${steps.STEP_ID.body.FIELD}"


def check(ctx: RuleContext) -> Iterator[Finding]:
    spec = ctx.spec
    if spec is None or ctx.errors_from("WF006"):
        return  # a broken flow graph makes "earlier" meaningless; WF006 says why
    f = RULE.finding
    inputs = {i.name for i in spec.inputs}
    flow = build_flow(spec)
    for step_id, where, value in template_values(spec):
        at = f"steps.{step_id}.{where}"
        for bad in malformed_refs(value):
            yield f(f"{at}: {bad!r} is not a reference; fix: write {_SYNTAX}", at)
        for ref in refs_in(value):
            if ref.root == "inputs":
                if ref.name not in inputs:
                    yield f(
                        f"{at}: {ref} names no input; fix: add input {ref.name!r} or use one "
                        f"of {sorted(inputs) or 'none'}",
                        at,
                    )
                elif ref.path:
                    yield f(
                        f"{at}: inputs are plain values, {ref} reads into one; fix: write "
                        f"${{inputs.{ref.name}}}",
                        at,
                    )
                continue
            target = spec.step(ref.name)
            if target is None:
                yield f(
                    f"{at}: {ref} names no step; fix: reference an earlier call or approval", at
                )
                continue
            if not isinstance(target, (CallStep, NotifyStep, ApprovalStep)):
                yield f(
                    f"{at}: {ref} reads step {ref.name}, a {target.kind} step with no result; "
                    "fix: reference a call or approval step",
                    at,
                )
                continue
            own_poll = ref.name == step_id and where == "poll.until.left"
            if own_poll:
                continue
            some, every = flow.before(step_id)
            if ref.name not in some:
                yield f(
                    f"{at}: {ref} reads step {ref.name}, which never runs before "
                    f"{step_id}; fix: reference a step that runs earlier",
                    at,
                )
            elif ref.name not in every:
                yield f(
                    f"{at}: {ref} reads step {ref.name}, which does not run on every path "
                    f"to {step_id} (the value may be null); fix: reference a step on every "
                    "path, or accept null",
                    at,
                    severity="warning",
                )


RULE = Rule(
    id="WF008",
    name="references",
    severity="error",
    stages=("spec",),
    summary="Template references name an input or the result of a step that runs earlier.",
    check=check,
)
