"""WF010 retry: retry policies are bounded, so a failing call ends instead of retrying forever."""

from __future__ import annotations

from collections.abc import Iterator

from copilot.drafting.spec import CallStep, effective_retry
from copilot.rules.base import Finding, Rule, RuleContext

MAX_ATTEMPTS = 50


def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.spec is None:
        return
    for step in ctx.spec.operation_steps():
        retry = effective_retry(step.retry)
        at = f"steps.{step.id}.retry"
        if isinstance(step, CallStep) and step.poll is not None:
            if step.retry is not None:
                yield RULE.finding(
                    f"step {step.id} polls, and a poll is retried on its own interval and "
                    "max_attempts (a failed call uses one of them), so its retry is ignored; "
                    "fix: remove retry, or tune poll.interval_s and poll.max_attempts",
                    at,
                    severity="warning",
                )
            continue
        if retry["max_attempts"] == 0:
            yield RULE.finding(
                f"step {step.id} retries without limit (max_attempts 0); fix: set max_attempts "
                f"(1-{MAX_ATTEMPTS})",
                at,
            )
        elif retry["max_attempts"] > MAX_ATTEMPTS:
            yield RULE.finding(
                f"step {step.id} may try {retry['max_attempts']} times; fix: keep max_attempts "
                f"at most {MAX_ATTEMPTS}",
                at,
            )
        if retry["max_interval_s"] < retry["initial_interval_s"]:
            yield RULE.finding(
                f"step {step.id}: max_interval_s is below initial_interval_s; fix: make "
                "max_interval_s at least initial_interval_s",
                at,
            )


RULE = Rule(
    id="WF010",
    name="retry-policy",
    severity="error",
    stages=("spec",),
    summary="Retry policies are bounded (1-50 attempts, sane intervals).",
    check=check,
)
