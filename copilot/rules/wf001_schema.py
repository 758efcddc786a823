"""WF001 schema: the planner's answer is one JSON document that follows the WorkflowSpec schema."""

from __future__ import annotations

from collections.abc import Iterator

from copilot.rules.base import Finding, Rule, RuleContext

_FIX = (
    "answer with one JSON object that follows the WorkflowSpec JSON Schema (`atc draft --schema`)"
)


def _loc(loc: tuple) -> str:
    out = "spec"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.parse_error is not None:
        yield RULE.finding(f"the answer is not a JSON document ({ctx.parse_error}); fix: {_FIX}")
        return
    for error in ctx.schema_errors[:20]:
        where = _loc(tuple(p for p in error.get("loc", ()) if not _is_union_tag(p)))
        got = repr(error.get("input"))[:80]
        yield RULE.finding(
            f"{where}: {error.get('msg')} (got {got}); fix: {_FIX}",
            where=where,
        )
    if len(ctx.schema_errors) > 20:
        yield RULE.finding(
            f"{len(ctx.schema_errors) - 20} more schema errors not shown; fix: {_FIX}"
        )


def _is_union_tag(part: object) -> bool:
    # pydantic puts the discriminator value (e.g. "call") into the location.
    return part in ("call", "notify", "approval", "sleep", "branch", "parallel")


RULE = Rule(
    id="WF001",
    name="schema",
    severity="error",
    stages=("spec",),
    summary="The draft is one JSON document that follows the WorkflowSpec schema.",
    check=check,
)
