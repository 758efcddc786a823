"""A WorkflowSpec as a Graphviz DOT flow diagram (for the dashboard and reviews).

Labels come from the spec (model-supplied text): they are escaped for DOT
and cut short; node names are generated, never taken from the spec.
"""

from __future__ import annotations

from copilot.drafting.spec import (
    END,
    ApprovalStep,
    BranchStep,
    CallStep,
    NotifyStep,
    ParallelStep,
    SleepStep,
    WorkflowSpec,
    successors,
)

_SHAPES = {
    "call": "box",
    "notify": "note",
    "approval": "hexagon",
    "sleep": "ellipse",
    "branch": "diamond",
    "parallel": "box3d",
}


def _q(text: str, limit: int = 60) -> str:
    """A DOT string literal: quotes and backslashes escaped, newlines as ``\\n``."""
    text = text if len(text) <= limit else text[: limit - 1] + "..."
    lines = ["".join(ch if ch.isprintable() else " " for ch in line) for line in text.split("\n")]
    escaped = [line.replace("\\", "\\\\").replace('"', '\\"') for line in lines]
    return '"' + "\\n".join(escaped) + '"'


def _label(step) -> str:
    if isinstance(step, (CallStep, NotifyStep)):
        extra = " (poll)" if isinstance(step, CallStep) and step.poll else ""
        return f"{step.id}\n{step.operation}{extra}"
    if isinstance(step, ApprovalStep):
        return f"{step.id}\napproval by {step.approver}"
    if isinstance(step, SleepStep):
        return f"{step.id}\nsleep {step.duration_s} s"
    if isinstance(step, BranchStep):
        c = step.condition
        return f"{step.id}\n{c.left} {c.op} {c.right}"
    return f"{step.id}\nparallel"


def _edges(spec: WorkflowSpec, step) -> list[tuple[str, str]]:
    """(target, label) of each transition out of ``step``.

    An approval shows where silence leads: with the branch it shares, on its
    own escalation edge, or to the end (``stop`` and ``fail`` run no step).
    """
    targets = successors(spec, step)
    if isinstance(step, BranchStep):
        return list(zip(targets, ("true", "false"), strict=True))
    if not isinstance(step, ApprovalStep):
        return [(targets[0], "")]
    action = step.timeout_action()
    approve = "approve / timeout" if action == "approve" else "approve"
    reject = "reject / timeout" if action == "reject" else "reject"
    edges = [(targets[0], approve), (targets[1], reject)]
    if action == "escalate" and len(targets) > 2:
        edges.append((targets[2], "timeout: escalate"))
    elif action in ("stop", "fail"):
        edges.append((END, f"timeout: {action}"))
    return edges


def to_dot(spec: WorkflowSpec) -> str:
    """The flow of ``spec``: steps as nodes, transitions as labelled edges."""
    names = {s.id: f"s{i}" for i, s in enumerate(spec.steps)}
    names[END] = "end"
    lines = [
        "digraph workflow {",
        "  rankdir=TB;",
        '  node [fontname="Helvetica", fontsize=10];',
        '  start [shape=circle, label="start", width=0.4];',
        '  end [shape=doublecircle, label="end", width=0.3];',
        f"  start -> {names[spec.steps[0].id]};",
    ]
    for step in spec.steps:
        lines.append(
            f"  {names[step.id]} [shape={_SHAPES[step.kind]}, label={_q(_label(step), 90)}];"
        )
    for step in spec.steps:
        src = names[step.id]
        if isinstance(step, ParallelStep):
            for child in step.steps:
                if child in names:
                    lines.append(f'  {src} -> {names[child]} [style=dashed, label="runs"];')
        if any(step.id in p.steps for p in spec.steps if isinstance(p, ParallelStep)):
            continue
        for target, label in _edges(spec, step):
            if target in names:
                attr = f" [label={_q(label)}]" if label else ""
                lines.append(f"  {src} -> {names[target]}{attr};")
    lines.append("}")
    return "\n".join(lines) + "\n"
