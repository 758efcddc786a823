"""WF011 unimplemented-clause: every repeat, wait, condition, approval and retry the request
asks for has a step that does it.

A planner that turns "search the catalog every 20 seconds until it is
completed, then email the customer" into a search and an email has dropped
the loop, the wait and the exit condition: the draft does something else
than what was asked, and must not be valid. The request is cut into clauses
(:mod:`copilot.drafting.clauses`) and each is matched to the steps that
implement it (:mod:`copilot.drafting.trace`). A behaviour clause with no
step is an error; a call or notification with no fitting step is a warning
(the planner may reasonably have picked another operation, and WF002/WF003
judge operations).
"""

from __future__ import annotations

from collections.abc import Iterator

from copilot.drafting.clauses import BEHAVIOUR_KINDS
from copilot.drafting.trace import trace_clauses
from copilot.rules.base import Finding, Rule, RuleContext

_FIX = {
    "repeat": "add a poll to the call (poll.interval_s, poll.max_attempts, poll.until) or a "
    "bounded loop with a sleep; a repeat with no end (\"every hour\") needs one: say "
    "until what (\"until it is shipped\")",
    "wait": "add a sleep step with that duration",
    "condition": "add the condition: a poll's until, a branch, or the approval's on_reject / "
    "on_timeout",
    "approval": "add an approval step (approver, prompt, timeout_s, on_timeout)",
    "retry": "give the call a bounded retry (retry.max_attempts, backoff above 1)",
    "call": "add a call to the operation that does it, or say why none fits",
    "notify": "add a notify step (e.g. notifications.send_email)",
}


def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.spec is None or not (ctx.request or "").strip():
        return
    for link in trace_clauses(ctx.spec, ctx.catalog, request=ctx.request or ""):
        if link.implemented:
            continue
        kind = link.clause.kind
        severity = "error" if kind in BEHAVIOUR_KINDS else "warning"
        yield RULE.finding(
            f"the request says {link.clause.text!r} ({kind}) but no step does it; "
            f"fix: {_FIX[kind]}",
            f"request.clauses[{link.clause.index}]",
            severity=severity,
        )


RULE = Rule(
    id="WF011",
    name="unimplemented-clause",
    severity="error",
    stages=("spec",),
    summary="Every repeat, wait, condition, approval and retry in the request has a step.",
    check=check,
)
