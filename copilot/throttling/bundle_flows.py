"""Where a bundle's endpoints and shared flows attach policies, and under which conditions.

Apigee runs a ``<Step>`` when its own ``<Condition>`` and the condition of the
``<Flow>`` (or ``<FaultRule>``) holding it are true; ``PreFlow``, ``PostFlow``
and ``PostClientFlow`` have no condition, and a ``DefaultFaultRule`` runs on any
fault not handled by a FaultRule
(cloud.google.com/apigee/docs/api-platform/fundamentals/what-are-flows,
.../fundamentals/fault-handling). A shared flow (``sharedflows/*.xml``,
``<SharedFlow>``) lists its steps directly. :func:`step_refs` returns one
:class:`StepRef` per step with the AND of every level's condition as text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

_FLOWS = ("PreFlow", "PostFlow", "PostClientFlow", "Flows", "Flow", "Request", "Response")
_FAULTS = ("FaultRules", "FaultRule", "DefaultFaultRule")


@dataclass(frozen=True)
class StepRef:
    """One ``<Step>``: the policy it runs, where, under which conditions."""

    policy: str
    where: str  # file / flow[name] / Request
    conditions: tuple[str, ...]  # every level's non-empty condition, outermost first
    fault: bool  # inside a FaultRule or DefaultFaultRule: runs only after a fault


def and_text(conditions: tuple[str, ...] | list[str]) -> str:
    """Conditions joined with ``and`` (each parenthesised when there are several)."""
    parts = [c.strip() for c in conditions if c and c.strip()]
    if len(parts) <= 1:
        return parts[0] if parts else ""
    return " and ".join(f"({c})" for c in parts)


def step_refs(root: ET.Element, file: str) -> list[StepRef]:
    """Every step under an endpoint or shared flow root (see module docstring)."""
    out: list[StepRef] = []

    def walk(node: ET.Element, trail: list[str], conds: list[str], fault: bool) -> None:
        for child in node:
            if child.tag == "Step":
                name = (child.findtext("Name") or "").strip()
                own = (child.findtext("Condition") or "").strip()
                where = " / ".join([file, *trail])
                out.append(StepRef(name, where, tuple(c for c in [*conds, own] if c), fault))
            elif child.tag in _FLOWS or child.tag in _FAULTS:
                label = (
                    child.tag if child.get("name") is None else f"{child.tag}[{child.get('name')}]"
                )
                cond = ""
                if child.tag in ("Flow", "FaultRule"):
                    cond = (child.findtext("Condition") or "").strip()
                walk(child, [*trail, label], [*conds, cond] if cond else conds,
                     fault or child.tag in _FAULTS)  # fmt: skip

    walk(root, [], [], False)
    return out


def base_paths(root: ET.Element) -> list[str]:
    """The ``<BasePath>`` of a ProxyEndpoint's ``HTTPProxyConnection``."""
    return [
        (node.text or "").strip() for node in root.iter("BasePath") if (node.text or "").strip()
    ]


def route_rules(root: ET.Element) -> list[tuple[str, str]]:
    """A ProxyEndpoint's RouteRules in order: (condition, target endpoint name or '')."""
    return [
        (
            (rule.findtext("Condition") or "").strip(),
            (rule.findtext("TargetEndpoint") or "").strip(),
        )
        for rule in root.findall("RouteRule")
    ]


def route_condition(endpoints: list[list[tuple[str, str]]], target: str) -> str | None:
    """When ``target`` runs: in some ProxyEndpoint, a RouteRule naming it matches and no
    earlier rule did (the first matching rule wins: cloud.google.com/apigee/docs/
    api-platform/fundamentals/understanding-routes). None when no rule names it (atc then
    assumes it runs)."""
    options = []
    for routes in endpoints:
        earlier: list[str] = []
        for condition, name in routes:
            if name == target:
                options.append(and_text([*earlier, condition]))
            if not condition:
                break  # an unconditional rule: later rules are never reached
            earlier.append(f"not ({condition})")
    if not options:
        return None
    if any(not o for o in options):
        return ""
    return options[0] if len(options) == 1 else " or ".join(f"({o})" for o in options)
