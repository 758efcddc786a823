"""WF006 flow: step ids are unique, targets exist, every step is reachable, no cycles."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from copilot.drafting.spec import END, BranchStep, CallStep, NotifyStep, ParallelStep
from copilot.rules._graph import build_flow
from copilot.rules.base import Finding, Rule, RuleContext


def _targets(step) -> list[tuple[str, str]]:
    out = []
    for name in ("next", "if_true", "if_false", "on_reject", "on_timeout_next"):
        value = getattr(step, name, None)
        if value is not None:
            out.append((name, value))
    return out


def check(ctx: RuleContext) -> Iterator[Finding]:
    spec = ctx.spec
    if spec is None:
        return
    f = RULE.finding
    counts = Counter(s.id for s in spec.steps)
    for step_id, n in sorted(counts.items()):
        if n > 1:
            yield f(f"step id {step_id} is used {n} times; fix: give every step its own id")
    if END in counts:
        yield f('"end" is reserved for finishing the workflow; fix: rename that step')
    ids = set(counts)
    owners: dict[str, list[str]] = {}
    for step in spec.steps:
        for name, target in _targets(step):
            if target != END and target not in ids:
                yield f(
                    f"step {step.id}.{name} goes to {target!r}, which is no step; fix: "
                    'name an existing step or "end"',
                    f"steps.{step.id}.{name}",
                )
        if isinstance(step, ParallelStep):
            for child in step.steps:
                owners.setdefault(child, []).append(step.id)
                target = spec.step(child)
                if target is None:
                    yield f(
                        f"parallel {step.id} runs {child!r}, which is no step; fix: list "
                        "existing call or notify steps",
                        f"steps.{step.id}.steps",
                    )
                elif not isinstance(target, (CallStep, NotifyStep)):
                    yield f(
                        f"parallel {step.id} runs {child}, a {target.kind} step; fix: run "
                        "only call and notify steps in parallel",
                        f"steps.{step.id}.steps",
                    )
                elif target.next is not None:
                    yield f(
                        f"step {child} runs inside parallel {step.id}, so its next "
                        f"({target.next}) is ignored; fix: remove it",
                        f"steps.{child}.next",
                        severity="warning",
                    )
    for child, parents in owners.items():
        jumped = [s.id for s in spec.steps for _, t in _targets(s) if t == child]
        if len(parents) > 1 or jumped:
            yield f(
                f"step {child} runs inside parallel {parents[0]} and is also reached from "
                f"{', '.join(parents[1:] + jumped)}; fix: give each parallel its own steps"
            )
    if spec.steps[0].id in owners:
        yield f("the first step may not be a parallel child; fix: start with another step")
    yield from _graph_findings(spec)


def _graph_findings(spec) -> Iterator[Finding]:
    f = RULE.finding
    flow = build_flow(spec)
    cycle = flow.cycle()
    if cycle:
        yield f(
            f"the steps form a cycle ({' -> '.join(cycle)}); fix: remove the loop (to "
            "repeat a call, use its poll setting with max_attempts)"
        )
    reached = flow.reachable()
    for step in spec.steps:
        if step.id not in reached:
            yield f(
                f"step {step.id} can never run (no path from {flow.start} reaches it); fix: "
                "point a next/if_true/if_false/on_reject/on_timeout_next at it, or remove it",
                f"steps.{step.id}",
            )
        if isinstance(step, BranchStep) and step.if_true == step.if_false:
            yield f(
                f"branch {step.id} goes to {step.if_true} either way; fix: remove the branch "
                "or change a target",
                f"steps.{step.id}",
                severity="warning",
            )


RULE = Rule(
    id="WF006",
    name="flow",
    severity="error",
    stages=("spec",),
    summary="Unique step ids, existing targets, every step reachable, no cycles.",
    check=check,
)
