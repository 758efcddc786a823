"""Template references in spec values: ``${inputs.NAME}`` and ``${steps.ID.PATH}``.

The grammar is deliberately tiny: a root (``inputs`` or ``steps``), an
identifier, and up to eight dotted keys of letters, digits, ``_`` and ``-``.
Anything else that starts with ``${`` is literal text (and a validation
finding), so no expression language ever reaches the renderer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from copilot.drafting.spec import ApprovalStep, CallStep, NotifyStep, WorkflowSpec

REF = re.compile(r"\$\{(inputs|steps)\.([a-z][a-z0-9_]{0,39})((?:\.[A-Za-z0-9_\-]{1,64}){0,8})\}")


@dataclass(frozen=True)
class Ref:
    """One reference: ``root`` is ``inputs`` or ``steps``; ``path`` the keys after the name."""

    root: str
    name: str
    path: tuple[str, ...] = ()

    def __str__(self) -> str:
        return "${" + ".".join((self.root, self.name, *self.path)) + "}"


def parse_template(text: str) -> list[str | Ref]:
    """Split a template into literal strings and references (empty literals dropped)."""
    parts: list[str | Ref] = []
    pos = 0
    for match in REF.finditer(text):
        if match.start() > pos:
            parts.append(text[pos : match.start()])
        keys = tuple(k for k in match.group(3).split(".") if k)
        parts.append(Ref(match.group(1), match.group(2), keys))
        pos = match.end()
    if pos < len(text):
        parts.append(text[pos:])
    return parts


def refs_in(value: object) -> list[Ref]:
    """The references in a value (only strings hold any)."""
    if not isinstance(value, str):
        return []
    return [p for p in parse_template(value) if isinstance(p, Ref)]


def malformed_refs(value: object) -> list[str]:
    """``${...}`` fragments that are not valid references (they stay literal text)."""
    if not isinstance(value, str) or "${" not in value:
        return []
    stripped = REF.sub("", value)
    out = []
    for start in [m.start() for m in re.finditer(r"\$\{", stripped)]:
        end = stripped.find("}", start)
        out.append(stripped[start : end + 1 if end >= 0 else start + 40])
    return out


def template_values(spec: WorkflowSpec) -> list[tuple[str, str, object]]:
    """Every template-bearing value as ``(step_id, where, value)``, in spec order."""
    out: list[tuple[str, str, object]] = []
    for step in spec.steps:
        if isinstance(step, (CallStep, NotifyStep)):
            groups = [("params", step.params), ("body", step.body)]
            if isinstance(step, CallStep):
                groups.append(("query", step.query))
            for group, values in groups:
                out += [(step.id, f"{group}.{v.name}", v.value) for v in values]
            if isinstance(step, CallStep) and step.poll is not None:
                out.append((step.id, "poll.until.left", step.poll.until.left))
        condition = getattr(step, "condition", None)
        if condition is not None:
            out.append((step.id, "condition.left", condition.left))
        if isinstance(step, ApprovalStep):
            out.append((step.id, "prompt", step.prompt))
    return out


CALL_RESULT_KEYS = ("status", "body")
APPROVAL_RESULT_KEYS = ("outcome", "reviewer", "comment")


def kept_paths(spec: WorkflowSpec) -> dict[str, tuple[str, ...]]:
    """Per call or notify step, the body paths some template reads (``"total"``, ``"a.b"``).

    Only these stay in workflow state: the activity returns a call's status
    and these paths of its body, nothing else. A reference to the whole body
    keeps nothing (the rules refuse it); sorted, so rendering is stable.
    """
    calls = {s.id for s in spec.operation_steps()}
    found: dict[str, set[str]] = {c: set() for c in calls}
    for _, _, value in template_values(spec):
        for ref in refs_in(value):
            body = ref.root == "steps" and ref.path[:1] == ("body",) and len(ref.path) > 1
            if body and ref.name in calls:
                found[ref.name].add(".".join(ref.path[1:]))
    return {step: tuple(sorted(paths)) for step, paths in found.items()}


def poll_target(step: CallStep) -> tuple[str, ...] | None:
    """The result path a poll's ``until`` reads (``("body", "status")``), or None.

    The activity evaluates the condition on the answer it just got, so
    ``until.left`` must be exactly one reference into the step's own result.
    """
    if step.poll is None:
        return None
    parts = parse_template(step.poll.until.left)
    if len(parts) != 1 or not isinstance(parts[0], Ref):
        return None
    ref = parts[0]
    if ref.root != "steps" or ref.name != step.id or not ref.path:
        return None
    if ref.path == ("status",) or (ref.path[0] == "body" and len(ref.path) > 1):
        return ref.path
    return None
