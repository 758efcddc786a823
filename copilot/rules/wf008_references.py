"""WF008 references: every ``${...}`` names an input or a field of an earlier step's result.

A call's result holds its ``status`` and the body fields some reference
names (nothing else is kept in workflow state), so a reference reads
``status`` or ``body.FIELD``, never the whole body; an approval's holds
``outcome``, ``reviewer`` and ``comment``. A poll's condition reads the
answer the poll just got: one reference into its own step's result.
"""

from __future__ import annotations

from collections.abc import Iterator

from copilot.drafting.refs import (
    APPROVAL_RESULT_KEYS,
    Ref,
    malformed_refs,
    poll_target,
    refs_in,
    template_values,
)
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
    yield from _poll_conditions(spec)
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
            if (shape := _shape_problem(ref, target)) is not None:
                yield f(f"{at}: {ref} {shape}", at)
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


def _shape_problem(ref: Ref, target) -> str | None:
    """Why ``ref`` reads nothing from ``target``'s result, or None when it reads a field."""
    if isinstance(target, ApprovalStep):
        if len(ref.path) == 1 and ref.path[0] in APPROVAL_RESULT_KEYS:
            return None
        return (
            "is not part of an approval's result; fix: read "
            f"${{steps.{ref.name}.outcome}}, .reviewer or .comment"
        )
    if ref.path == ("status",) or (ref.path[:1] == ("body",) and len(ref.path) > 1):
        return None
    if ref.path == ("body",):
        return (
            "reads a whole response body, and only the fields a step names are kept; fix: "
            f"name the field, like ${{steps.{ref.name}.body.FIELD}}"
        )
    return (
        "is not part of a call's result (status and body fields); fix: read "
        f"${{steps.{ref.name}.status}} or ${{steps.{ref.name}.body.FIELD}}"
    )


def _poll_conditions(spec) -> Iterator[Finding]:
    for step in spec.steps:
        if isinstance(step, CallStep) and step.poll is not None and poll_target(step) is None:
            at = f"steps.{step.id}.poll.until.left"
            yield RULE.finding(
                f"{at}: a poll's condition is checked on the answer it just got, so it must "
                f"be one reference into that answer; fix: write ${{steps.{step.id}.body.FIELD}} "
                f"or ${{steps.{step.id}.status}}",
                at,
            )


RULE = Rule(
    id="WF008",
    name="references",
    severity="error",
    stages=("spec",),
    summary="Template references name an input or the result of a step that runs earlier.",
    check=check,
)
