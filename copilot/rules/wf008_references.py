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
    inputs = {i.name for i in spec.inputs}
    flow = build_flow(spec)
    yield from _poll_conditions(spec)
    for step_id, where, value in template_values(spec):
        at = f"steps.{step_id}.{where}"
        for bad in malformed_refs(value):
            yield RULE.finding(f"{at}: {bad!r} is not a reference; fix: write {_SYNTAX}", at)
        for ref in refs_in(value):
            if ref.root == "inputs":
                problem = _input_problem(ref, inputs)
            else:
                problem = _step_problem(ref, spec)
            if problem is not None:
                yield RULE.finding(f"{at}: {problem}", at)
            elif ref.root != "inputs" and not _own_poll(ref, step_id, where):
                yield from _order_findings(ref, flow, step_id, at)


def _input_problem(ref: Ref, inputs: set[str]) -> str | None:
    """Why ``${inputs...}`` reads nothing, or None."""
    if ref.name not in inputs:
        return (
            f"{ref} names no input; fix: add input {ref.name!r} or use one "
            f"of {sorted(inputs) or 'none'}"
        )
    if ref.path:
        return f"inputs are plain values, {ref} reads into one; fix: write ${{inputs.{ref.name}}}"
    return None


def _step_problem(ref: Ref, spec) -> str | None:
    """Why ``${steps...}`` reads nothing from the step it names, or None."""
    target = spec.step(ref.name)
    if target is None:
        return f"{ref} names no step; fix: reference an earlier call or approval"
    if not isinstance(target, (CallStep, NotifyStep, ApprovalStep)):
        return (
            f"{ref} reads step {ref.name}, a {target.kind} step with no result; "
            "fix: reference a call or approval step"
        )
    shape = _shape_problem(ref, target)
    return None if shape is None else f"{ref} {shape}"


def _own_poll(ref: Ref, step_id: str, where: str) -> bool:
    # A poll's condition reads the answer its own step just got.
    return ref.name == step_id and where == "poll.until.left"


def _order_findings(ref: Ref, flow, step_id: str, at: str) -> Iterator[Finding]:
    """The referenced step must run before ``step_id`` (on every path, or it may be null)."""
    some, every = flow.before(step_id)
    if ref.name not in some:
        yield RULE.finding(
            f"{at}: {ref} reads step {ref.name}, which never runs before "
            f"{step_id}; fix: reference a step that runs earlier",
            at,
        )
    elif ref.name not in every:
        yield RULE.finding(
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
