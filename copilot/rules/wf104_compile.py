"""WF104 compile: the module parses and compiles (after the allow-list, before loading).

Code too large or nested too deeply to compile safely is a finding here too:
CPython's compiler recurses, so such code is never handed to it.
"""

from __future__ import annotations

from collections.abc import Iterator

from copilot.rules._ast_limits import limit_problem
from copilot.rules.base import Finding, Rule, RuleContext


def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.code is None:
        return
    error = ctx.syntax_error
    if error is None:
        try:
            compile(ctx.tree or ctx.code, ctx.filename, "exec", dont_inherit=True)
            return
        except (SyntaxError, ValueError) as exc:
            error = exc if isinstance(exc, SyntaxError) else SyntaxError(str(exc))
    line = getattr(error, "lineno", None) or 0
    yield RULE.finding(
        f"line {line}: {error.msg if hasattr(error, 'msg') else error}; fix: correct the syntax "
        "(or render the spec again)",
        f"line {line}",
    )


RULE = Rule(
    id="WF104",
    name="compile",
    severity="error",
    stages=("code",),
    summary="The module parses and compiles.",
    check=check,
    limit=limit_problem,
)
