"""WF004 timeouts: every call, sleep, poll and the workflow itself has a bounded timeout."""

from __future__ import annotations

from collections.abc import Iterator

from copilot.drafting.spec import ApprovalStep, CallStep, NotifyStep, SleepStep
from copilot.rules.base import Finding, Rule, RuleContext

MAX_CALL_S = 3600  # one call; a longer job is a workflow, not an activity
MAX_SLEEP_S = 30 * 86400
# A poll runs as one activity whose retry policy asks again, so it has the retry bound.
MAX_POLL_ATTEMPTS = 50
MAX_EXECUTION_S = 90 * 86400


def _unbounded(value: float | None, bound: float) -> bool:
    return value is None or value > bound


def _step_problems(step) -> Iterator[str]:
    """What is unbounded about one step (its call, its poll, its sleep)."""
    if isinstance(step, SleepStep) and _unbounded(step.duration_s, MAX_SLEEP_S):
        yield (
            f"sleep {step.id} has no bounded duration_s; fix: set duration_s in "
            f"seconds, at most {MAX_SLEEP_S} (30 days)"
        )
    if not isinstance(step, (CallStep, NotifyStep)):
        return
    if step.timeout_s is None:
        yield (
            f"step {step.id} has no timeout_s; fix: set the call's start-to-close "
            "timeout in seconds (e.g. 30)"
        )
    elif step.timeout_s > MAX_CALL_S:
        yield (
            f"step {step.id} allows {step.timeout_s} s for one call; fix: keep "
            f"timeout_s at most {MAX_CALL_S}"
        )
    poll = step.poll if isinstance(step, CallStep) else None
    if poll is None:
        return
    if _unbounded(poll.max_attempts, MAX_POLL_ATTEMPTS):
        yield (
            f"step {step.id} polls without a bound; fix: set poll.max_attempts "
            f"(1-{MAX_POLL_ATTEMPTS})"
        )
    if _unbounded(poll.interval_s, MAX_SLEEP_S):
        yield (
            f"step {step.id} polls without a bounded interval; fix: set "
            f"poll.interval_s in seconds (at most {MAX_SLEEP_S})"
        )


def check(ctx: RuleContext) -> Iterator[Finding]:
    spec = ctx.spec
    if spec is None:
        return
    f = RULE.finding
    for step in spec.steps:
        for message in _step_problems(step):
            yield f(message, f"steps.{step.id}")
    if spec.execution_timeout_s is None or spec.execution_timeout_s > MAX_EXECUTION_S:
        yield f(
            "the workflow has no bounded execution_timeout_s; fix: set it in seconds, at "
            f"most {MAX_EXECUTION_S} (90 days), longer than every wait it contains",
            "execution_timeout_s",
        )
    elif (longest := _longest_wait(spec)) > spec.execution_timeout_s:
        yield f(
            f"the waits of one path add up to {longest} s, more than execution_timeout_s "
            f"({spec.execution_timeout_s}); fix: raise execution_timeout_s above {longest}",
            "execution_timeout_s",
            severity="warning",
        )


def _longest_wait(spec) -> int:
    total = 0
    for step in spec.steps:
        if isinstance(step, SleepStep):
            total += step.duration_s or 0
        elif isinstance(step, ApprovalStep):
            total += step.timeout_s or 0
        elif isinstance(step, CallStep) and step.poll is not None:
            total += (step.poll.interval_s or 0) * max(0, (step.poll.max_attempts or 1) - 1)
    return total


RULE = Rule(
    id="WF004",
    name="timeouts",
    severity="error",
    stages=("spec",),
    summary="Calls, sleeps, polls and the workflow have explicit, bounded timeouts.",
    check=check,
)
