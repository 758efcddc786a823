"""WF005 approval-timeout: a human decision is awaited for a bounded time, with a known outcome."""

from __future__ import annotations

from collections.abc import Iterator

from copilot.drafting.spec import ApprovalStep
from copilot.rules.base import Finding, Rule, RuleContext

MAX_APPROVAL_S = 30 * 86400


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
                "and on_timeout (reject, approve or fail)",
                where,
            )
        elif step.timeout_s > MAX_APPROVAL_S:
            yield RULE.finding(
                f"approval {step.id} waits {step.timeout_s} s; fix: keep timeout_s at most "
                f"{MAX_APPROVAL_S} (30 days)",
                where,
            )
        if step.on_timeout is None:
            yield RULE.finding(
                f"approval {step.id} does not say what happens on timeout (it will reject); "
                "fix: set on_timeout to reject, approve or fail",
                where,
                severity="warning",
            )
        if not step.approver.strip() or not step.prompt.strip():
            yield RULE.finding(
                f"approval {step.id} needs an approver and a prompt; fix: say who decides "
                "and what they are asked",
                where,
            )


RULE = Rule(
    id="WF005",
    name="approval-timeout",
    severity="error",
    stages=("spec",),
    summary="Every approval has an approver, a prompt, a bounded timeout and an on_timeout.",
    check=check,
)
