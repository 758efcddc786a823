"""WF100 rendered-code: the code is exactly what the trusted renderer makes of the spec.

People edit the spec, never the code: every line of a drafted module comes
from :func:`copilot.drafting.render.render`, where spec text appears only as
escaped literals. Code that differs by one byte from the renderer's output
for the draft's spec and scopes is refused, and so is code with no spec (or
a spec the renderer refuses). It runs before the other code rules; when it
fails, the module is never loaded (WF105 does not run). The other code rules
still check the code on their own, as a second lock.
"""

from __future__ import annotations

from collections.abc import Iterator

from copilot.drafting.render import render
from copilot.errors import SpecError
from copilot.rules.base import Finding, Rule, RuleContext

_FIX = "fix: edit the spec and let atc render the code"


def _first_difference(code: str, expected: str) -> int:
    """The 1-based line where ``code`` first differs from ``expected``."""
    got, want = code.split("\n"), expected.split("\n")
    for number, (a, b) in enumerate(zip(got, want, strict=False), start=1):
        if a != b:
            return number
    return min(len(got), len(want)) + 1


def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.code is None:
        return
    if ctx.spec is None:
        yield RULE.finding(f"there is no valid spec to render this code from; {_FIX}")
        return
    try:
        expected = render(ctx.spec, ctx.scopes)
    except SpecError as exc:
        yield RULE.finding(f"the renderer refuses the spec ({exc.message}); {_FIX}")
        return
    if ctx.code != expected:
        line = _first_difference(ctx.code, expected)
        yield RULE.finding(
            f"line {line}: the code is not what atc renders for the spec (it was edited or "
            f"rendered from another spec); {_FIX}",
            f"line {line}",
        )


RULE = Rule(
    id="WF100",
    name="rendered-code",
    severity="error",
    stages=("code",),
    summary="The code is byte for byte what the trusted renderer makes of the draft's spec.",
    check=check,
)
