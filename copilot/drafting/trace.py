"""Which spec step(s) implement each clause of the request (deterministic).

The planner's spec is checked against the request it was asked for, not
against what the planner says it did: each clause from
:func:`copilot.drafting.clauses.extract_clauses` is matched to the steps
whose kind and settings do what the clause says. A repeat is a poll (its
interval, its bound) or a loop in the step graph; a wait a sleep (or a
poll's interval); an exit condition a poll's ``until`` or a branch; a
threshold or status check a branch; "on rejection" and "if nobody answers"
an approval's reject and timeout paths; an approval an approval step; a
retry a call with a bounded retry policy with backoff; a call or
notification a step calling a fitting operation. The review shows the
pairs; rule WF011 reports a clause with no step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from copilot.drafting.clauses import Clause, extract_clauses
from copilot.drafting.offline_lexicon import COMPATIBLE, SMS, VERBS, noun, profile, words_of
from copilot.drafting.spec import (
    ApprovalStep,
    BranchStep,
    CallStep,
    NotifyStep,
    SleepStep,
    WorkflowSpec,
    effective_retry,
    successors,
)
from copilot.scopes.catalog import Catalog


@dataclass
class ClauseLink:
    """One clause and the steps implementing it (empty: none does), with how."""

    clause: Clause
    steps: list[str] = field(default_factory=list)
    how: str = ""

    @property
    def implemented(self) -> bool:
        return bool(self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {**self.clause.to_dict(), "steps": self.steps, "how": self.how}


def _polls(spec: WorkflowSpec) -> list[CallStep]:
    return [s for s in spec.steps if isinstance(s, CallStep) and s.poll is not None]


def _same(value: Any, wanted: Any) -> bool:
    try:
        return float(value) == float(wanted)
    except (TypeError, ValueError):
        return str(value).strip().lower() == str(wanted).strip().lower()


def _cycle_steps(spec: WorkflowSpec) -> list[str]:
    """Steps on a cycle of the step graph (a loop written with a branch going back)."""
    graph = {s.id: [t for t in successors(spec, s) if t != "end"] for s in spec.steps}
    out = []
    for start in graph:
        seen, stack = set(), list(graph[start])
        while stack:
            node = stack.pop()
            if node == start:
                out.append(start)
                break
            if node in seen or node not in graph:
                continue
            seen.add(node)
            stack.extend(graph[node])
    return out


def _repeat(spec: WorkflowSpec, clause: Clause) -> tuple[list[str], str]:
    polls = _polls(spec)
    exact = [p for p in polls if p.poll and p.poll.interval_s == clause.seconds]
    for poll in exact or polls:
        assert poll.poll is not None
        bound = poll.poll.max_attempts
        return [poll.id], f"poll every {poll.poll.interval_s} s, at most {bound} times"
    loop = _cycle_steps(spec)
    sleeps = [s for s in spec.steps if isinstance(s, SleepStep) and s.id in loop]
    if loop and sleeps:
        return loop, "a loop with a sleep: " + " -> ".join(loop)
    return [], ""


def _wait(spec: WorkflowSpec, clause: Clause) -> tuple[list[str], str]:
    sleeps = [s for s in spec.steps if isinstance(s, SleepStep)]
    exact = [s for s in sleeps if s.duration_s == clause.seconds]
    if exact or sleeps:
        step = (exact or sleeps)[0]
        return [step.id], f"sleep {step.duration_s} s"
    for poll in _polls(spec):
        if poll.poll and poll.poll.interval_s == clause.seconds:
            return [poll.id], f"waits {clause.seconds} s between polls"
    return [], ""


def _branches(spec: WorkflowSpec) -> list[BranchStep]:
    return [s for s in spec.steps if isinstance(s, BranchStep)]


def _condition(spec: WorkflowSpec, clause: Clause) -> tuple[list[str], str]:
    approvals = [s for s in spec.steps if isinstance(s, ApprovalStep)]
    if clause.role == "rejected":
        found = [a for a in approvals if a.on_reject not in (None, "end")]
        return ([found[0].id], f"on reject go to {found[0].on_reject}") if found else ([], "")
    if clause.role == "silence":
        found = [a for a in approvals if a.on_timeout is not None]
        if found:
            return [found[0].id], f"on timeout: {found[0].timeout_action()}"
        return [], ""
    if clause.role == "until":
        polls = _polls(spec)
        exact = [p for p in polls if p.poll and _same(p.poll.until.right, clause.value)]
        for poll in exact or polls:
            assert poll.poll is not None
            until = poll.poll.until
            return [poll.id], f"until {until.left} {until.op} {until.right!r}"
    branches = _branches(spec)
    exact = [b for b in branches if _same(b.condition.right, clause.value)]
    if clause.role == "threshold":
        branches = [b for b in branches if b.condition.op in ("gt", "ge", "lt", "le")]
    for branch in exact or branches:
        c = branch.condition
        return [branch.id], f"branch on {c.left} {c.op} {c.right!r}"
    return [], ""


def _clause_verbs(text: str) -> set[str]:
    verbs = {
        v for v, phrases in VERBS.items() if any(re.search(rf"\b{p}\b", text) for p in phrases)
    }
    if re.search(r"\bpoll\b", text):
        verbs.add("get")
    if re.search(r"\bsend\b.*\bfulfil", text) or "ship" in verbs:
        verbs |= {"create"}
    return verbs


def _operation_steps(spec: WorkflowSpec, catalog: Catalog) -> list[tuple[Any, Any]]:
    out = []
    for step in spec.operation_steps():
        try:
            out.append((step, profile(catalog.operation(step.operation))))
        except Exception:  # noqa: BLE001 - an unknown operation is WF002's finding, not ours
            continue
    return out


def _call(spec: WorkflowSpec, clause: Clause, catalog: Catalog) -> tuple[list[str], str]:
    verbs = _clause_verbs(clause.text)
    nouns = {noun(w) for w in words_of(clause.text)} - {""}
    for step, prof in _operation_steps(spec, catalog):
        if prof.verb == "notify":
            continue
        fits = prof.verb in verbs or any(prof.verb in COMPATIBLE.get(v, set()) for v in verbs)
        if fits and (nouns & prof.nouns or nouns & {"it", "them"}):
            return [step.id], f"calls {step.operation}"
    return [], ""


def _notify(spec: WorkflowSpec, clause: Clause, catalog: Catalog) -> tuple[list[str], str]:
    sms = bool(SMS.search(clause.text))
    found = [
        step
        for step, prof in _operation_steps(spec, catalog)
        if isinstance(step, NotifyStep) or prof.verb == "notify"
    ]
    exact = [s for s in found if ("sms" in s.operation) == sms]
    for step in exact or found:
        return [step.id], f"sends {step.operation}"
    return [], ""


def _retry(spec: WorkflowSpec, clause: Clause) -> tuple[list[str], str]:
    for step in spec.operation_steps():
        if isinstance(step, CallStep) and step.poll is not None:
            continue
        retry = effective_retry(step.retry)
        attempts, backoff = int(retry["max_attempts"]), float(retry["backoff"])
        if attempts >= 2 and backoff > 1 and (clause.attempts in (None, attempts)):
            return [step.id], f"{attempts} attempts, backoff x{backoff:g}"
    return [], ""


def trace_clauses(
    spec: WorkflowSpec, catalog: Catalog, clauses: list[Clause] | None = None, request: str = ""
) -> list[ClauseLink]:
    """Each clause of ``request`` (or the given clauses) with the steps that implement it."""
    links = []
    for clause in extract_clauses(request) if clauses is None else clauses:
        kind = clause.kind
        if kind == "repeat":
            steps, how = _repeat(spec, clause)
        elif kind == "wait":
            steps, how = _wait(spec, clause)
        elif kind == "condition":
            steps, how = _condition(spec, clause)
        elif kind == "approval":
            found = [s for s in spec.steps if isinstance(s, ApprovalStep)]
            steps = [found[0].id] if found else []
            how = f"approval by {found[0].approver}, {found[0].timeout_s} s" if found else ""
        elif kind == "retry":
            steps, how = _retry(spec, clause)
        elif kind == "notify":
            steps, how = _notify(spec, clause, catalog)
        else:
            steps, how = _call(spec, clause, catalog)
        links.append(ClauseLink(clause, steps, how))
    return links


def shape_of(spec: WorkflowSpec) -> set[str]:
    """What a spec does over time: ``loop`` (a poll or a cycle), ``sleep``, ``branch``,
    ``approval``, ``backoff`` (a retried call), ``sequence`` (two or more calls)."""
    out = set()
    if _polls(spec) or _cycle_steps(spec):
        out.add("loop")
    if any(isinstance(s, SleepStep) for s in spec.steps) or _polls(spec):
        out.add("sleep")
    if _branches(spec) or any(p.poll and p.poll.until for p in _polls(spec)):
        out.add("exit")
    if any(isinstance(s, ApprovalStep) for s in spec.steps):
        out.add("approval")
    if _retry(spec, Clause(0, "", "retry"))[0]:
        out.add("backoff")
    if len(spec.operation_steps()) >= 2:
        out.add("sequence")
    return out
