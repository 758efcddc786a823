"""WF105 sandbox-load: the module loads in a separate process under the workflow sandbox.

Only code that passed WF101 and WF104 is ever loaded, and only in a child
process (:mod:`workflows.drafts.sandbox_check`), never in the caller's: the
dashboard and the CLI do not import drafted code. The Temporal sandbox is
not a security boundary (the SDK says so); the allow-list is the guard, and
this check proves the module defines one valid, deterministic workflow.
"""

from __future__ import annotations

from collections.abc import Iterator

from copilot.drafting.sandbox import sandbox_load
from copilot.rules.base import Finding, Rule, RuleContext


def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.code is None or not ctx.sandbox or ctx.errors_from("WF101", "WF104"):
        return
    result = sandbox_load(ctx.code)
    if not result.ok:
        yield RULE.finding(
            f"the module does not load under the Temporal workflow sandbox: {result.error}; "
            "fix: keep to one @workflow.defn class using only the allowed imports",
        )


RULE = Rule(
    id="WF105",
    name="sandbox-load",
    severity="error",
    stages=("code",),
    summary="The module loads in a separate process under the Temporal workflow sandbox.",
    check=check,
)
