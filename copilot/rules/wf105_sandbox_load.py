"""WF105 sandbox-load: the module loads in a separate process under the workflow sandbox.

Only code that passed WF100 (it is the renderer's output), WF101 and WF104 is
ever loaded, and only in a child process (:mod:`workflows.runtime.sandbox_child`), never in the caller's: the
dashboard and the CLI do not import drafted code. The Temporal sandbox is
not a security boundary (the SDK says so); the allow-list is the guard, and
this check proves the module defines one valid, deterministic workflow.
"""

from __future__ import annotations

from collections.abc import Iterator

from copilot.drafting.sandbox import sandbox_load
from copilot.rules import wf100_rendered_code, wf101_ast_allowlist, wf104_compile
from copilot.rules._ast_limits import limit_problem
from copilot.rules.base import Finding, Rule, RuleContext

# Loading imports the module: only code every static lock passed may get that far.
GATES = (wf100_rendered_code.RULE, wf101_ast_allowlist.RULE, wf104_compile.RULE)


def _refused_by(ctx: RuleContext) -> list[str]:
    """The gate rules that refuse the code, checked again here: WF105 may run on its own."""
    return [rule.id for rule in GATES if any(f.is_error for f in rule.run(ctx))]


def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.code is None or not ctx.sandbox or ctx.errors_from(*(r.id for r in GATES)):
        return
    refused = _refused_by(ctx)
    if refused:
        yield RULE.finding(
            f"not loaded: {', '.join(refused)} refuse the code; fix: edit the spec and let atc "
            "render the code"
        )
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
    limit=limit_problem,
)
