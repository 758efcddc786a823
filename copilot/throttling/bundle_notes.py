"""Sentences for what atc reads in a bundle but does not replay (``Unmodelled``)."""

from __future__ import annotations

from copilot.apigee.conditions import parse_condition
from copilot.throttling.bundle_model import CurrentPolicy, Unmodelled

_NO_LOG_IDENTITY = {
    "developer": "the developer (the logs carry no developer field)",
    "jwt_claim": "a JWT claim (the logs carry no claims)",
    "custom": "a custom flow variable (the logs cannot say its value)",
}


def never_runs(kind: str, name: str, tag: str) -> str:
    if kind == "sharedflow":
        return (f"{tag} in shared flow {name}, which no flow hook or FlowCallout atc read attaches: "
                f"not attached to any flow; never runs (atc assumes so; pass the environment's "
                f"flowhooks file if a hook attaches it)")  # fmt: skip
    return f"{tag} not attached to any flow; never runs (no <Step> names it), so atc ignores it"


def limit_notes(p: CurrentPolicy) -> list[Unmodelled]:
    out = []
    if p.identifier_kind in _NO_LOG_IDENTITY:
        out.append(Unmodelled(p.proxy, None, p.source, (
            f"{p.name} counts per {_NO_LOG_IDENTITY[p.identifier_kind]} "
            f"(Identifier ref {p.identifier}); atc cannot key its replay, so it has none")))  # fmt: skip
    if p.message_weight_ref:
        out.append(Unmodelled(p.proxy, None, p.source, (
            f"{p.name} weighs each request by {p.message_weight_ref}, which the logs do not carry; "
            f"atc gives no replay numbers for it")))  # fmt: skip
    return out


def condition_notes(policies: list[CurrentPolicy]) -> list[Unmodelled]:
    out, seen = [], set()
    for p in policies:
        for a in p.attachments:
            problem = parse_condition(a.condition).problem if a.condition else ""
            if problem and (p.proxy, a.condition) not in seen:
                seen.add((p.proxy, a.condition))
                out.append(Unmodelled(p.proxy, None, a.where.split(" / ")[0], (
                    f"condition {a.condition!r} on {p.name} cannot be read ({problem}); atc treats "
                    f"the rows it governs as unknown and replays none of them")))  # fmt: skip
    return out
