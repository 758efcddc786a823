"""WF005 approval-timeout: a human decision is awaited for a bounded time, with a stated outcome.

Silence is not consent, and it is not rejection either: when nobody answers,
the workflow does what the spec states, and a spec that states nothing is
an error (the renderer would stop the workflow, but the planner must say so).
"""

from __future__ import annotations

from collections.abc import Iterator

from copilot.drafting.spec import END, ApprovalStep
from copilot.rules.base import Finding, Rule, RuleContext

MAX_APPROVAL_S = 30 * 86400
_CHOICES = "stop, escalate (with on_timeout_next), fail, reject or approve"


def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.spec is None:
        return
    for step in ctx.spec.steps:
        if not isinstance(step, ApprovalStep):
            continue
        where = f"steps.{step.id}"
        if step.timeout_s is None:
            yield RULE.finding(
                f"approval {step.id} waits forever; fix: set timeout_s (e.g. 172800 for 48 h) "
                f"and on_timeout ({_CHOICES})",
                where,
            )
        elif step.timeout_s > MAX_APPROVAL_S:
            yield RULE.finding(
                f"approval {step.id} waits {step.timeout_s} s; fix: keep timeout_s at most "
                f"{MAX_APPROVAL_S} (30 days)",
                where,
            )
        yield from _on_timeout(step, where)
        if not step.approver.strip() or not step.prompt.strip():
            yield RULE.finding(
                f"approval {step.id} needs an approver and a prompt; fix: say who decides "
                "and what they are asked",
                where,
            )


def _on_timeout(step: ApprovalStep, where: str) -> Iterator[Finding]:
    if step.on_timeout is None:
        yield RULE.finding(
            f"approval {step.id} does not say what happens when nobody answers (it would "
            f"stop the workflow); fix: set on_timeout to {_CHOICES}",
            f"{where}.on_timeout",
        )
    elif step.on_timeout == "escalate" and step.on_timeout_next in (None, END):
        yield RULE.finding(
            f"approval {step.id} escalates on timeout but on_timeout_next names no step; fix: "
            "set on_timeout_next to the step that escalates (e.g. notify a manager), or "
            "use on_timeout stop",
            f"{where}.on_timeout_next",
        )
    if step.on_timeout_next is not None and step.on_timeout != "escalate":
        yield RULE.finding(
            f"approval {step.id} sets on_timeout_next but does not escalate, so it is "
            "ignored; fix: set on_timeout to escalate, or remove on_timeout_next",
            f"{where}.on_timeout_next",
            severity="warning",
        )


RULE = Rule(
    id="WF005",
    name="approval-timeout",
    severity="error",
    stages=("spec",),
    summary="Every approval has an approver, a prompt, a bounded timeout and a stated on_timeout.",
    check=check,
)
