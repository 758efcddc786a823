"""The trusted renderer: WorkflowSpec -> one temporalio Python module.

The module holds a typed input dataclass and a workflow class whose run loop
walks the spec's steps (each step a method returning the next step's id).
Calls go through the one gateway activity (``CALL_OPERATION``) with a
start-to-close timeout and a bounded retry policy; each names the body
paths later steps read (``keep``: nothing else enters workflow state), and a
poll is that one activity retried on the poll's interval until its
condition holds. Approvals wait with ``workflow.wait_condition(...,
timeout=...)`` and are answered only by the ``decide`` update: its validator,
and its handler again, refuse a decision for an approval that is not pending
or was already decided (or timed out), so exactly one decision per approval
lands. A timeout does what the spec says (``stop`` unless told otherwise).
The ``status`` query says what the workflow waits for.

Output is a pure function of the spec (and the scopes it was checked
against): the same input gives identical bytes. Spec text appears only as
escaped literals (:mod:`copilot.drafting.literals`).
"""

from __future__ import annotations

import hashlib

from copilot.drafting.literals import camel, ident, lit, value_expr
from copilot.drafting.render_steps import step_method
from copilot.drafting.spec import ApprovalStep, CallStep, ParallelStep, WorkflowSpec

# The one module drafted code may import (rules WF101/WF102 pin it too).
RUNTIME_MODULE = "workflows.runtime.shared"
# Its names in code stored by earlier atc versions: a stored version whose code differs
# from today's rendering only in this name is the same program (see former_renderings).
FORMER_RUNTIME_MODULES = ("workflows.drafts.shared",)

_TYPES = {
    "string": ("str", ""),
    "integer": ("int", 0),
    "number": ("float", 0.0),
    "boolean": ("bool", False),
}

_HEADER = '''"""atc drafted workflow {name}.

Rendered by atc's trusted renderer from a WorkflowSpec. Text that came from the
spec appears only as string literals. Every API call goes through the scoped
gateway activity (CALL_OPERATION); edits must pass `atc rules check` again.
"""

from __future__ import annotations
{asyncio}
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from {runtime} import (
{imports}
    )
'''

_HELPERS = """
    def _set_status(
        self,
        step: str,
        kind: str,
        until: str | None = None,
        approver: str = "",
        prompt: str = "",
        every_s: float | None = None,
    ) -> None:
        self._status = StepStatus(step, kind, until, approver, prompt, list(self._path), every_s)

    async def _call(
        self,
        request: CallRequest,
        timeout: timedelta,
        retry: RetryPolicy,
        every_s: float | None = None,
    ) -> None:
        # A poll (every_s: its interval) asks again as retries the workflow does not see.
        self._set_status(request.step, "call" if every_s is None else "poll", every_s=every_s)
        # Each run of a step is a new call with its own idempotency key; retries share it.
        request.iteration = self._path.count(request.step) - 1
        self._results[request.step] = await workflow.execute_activity(
            CALL_OPERATION,
            request,
            result_type=dict,
            start_to_close_timeout=timeout,
            retry_policy=retry,
        )

    async def _sleep(self, step: str, duration: timedelta) -> None:
        self._set_status(step, "sleep", until=(workflow.now() + duration).isoformat())
        await workflow.sleep(duration)
"""

_APPROVAL_HELPERS = """
    async def _approval(self, step: str, approver: str, prompt: str, timeout: timedelta) -> str:
        until = (workflow.now() + timeout).isoformat()
        self._set_status(step, "approval", until=until, approver=approver, prompt=prompt)
        try:
            await workflow.wait_condition(lambda: step in self._decisions, timeout=timeout)
        except TimeoutError:
            # A timeout is final like a decision; a decision that landed in the same
            # activation as the timer stands (its caller was told it was accepted).
            self._decisions.setdefault(step, ApprovalDecision(step, "timeout", "", ""))
        decision = self._decisions[step]
        self._results[step] = {
            "outcome": decision.outcome,
            "reviewer": decision.reviewer,
            "comment": decision.comment,
        }
        return decision.outcome

    def _stop(self, reason: str) -> str:
        self._stopped = reason
        return "end"

    @workflow.update(name="decide")
    async def decide(self, decision: ApprovalDecision) -> str:
        # Updates delivered together all pass the validator before any handler runs, so the
        # handler checks again: one decision lands and every other caller is refused.
        try:
            check_decision(self._status, decision, self._decisions)
        except ValueError as exc:
            raise ApplicationError(str(exc), type="DecisionRefused", non_retryable=True) from None
        self._decisions[decision.step] = decision
        return decision.outcome

    @decide.validator
    def validate_decide(self, decision: ApprovalDecision) -> None:
        check_decision(self._status, decision, self._decisions)
"""

_STATUS_QUERY = """
    @workflow.query(name="status")
    def status(self) -> StepStatus:
        return self._status
"""


def class_names(spec: WorkflowSpec) -> tuple[str, str]:
    """(workflow class, input dataclass) names for a spec."""
    base = camel(spec.name)
    return f"{base}Workflow", f"{base}Input"


def workflow_type(spec: WorkflowSpec) -> str:
    """The Temporal workflow type name of a rendered spec."""
    return f"atc-draft.{ident(spec.name, 'name')}"


def _input_class(spec: WorkflowSpec, name: str) -> list[str]:
    lines = [
        "@dataclass",
        f"class {name}:",
        '    """The workflow input (fields from the spec)."""',
        "",
    ]
    fields = sorted(spec.inputs, key=lambda f: f.required is False)  # stable: required first
    for field in fields:
        kind, zero = _TYPES[field.type]
        line = f"    {ident(field.name, 'input')}: {kind}"
        if field.required is False:
            line += f" = {lit(field.default if field.default is not None else zero)}"
        lines.append(line)
    if not fields:
        lines.append("    pass")
    return lines


def _tuple(name: str, items: list[str]) -> str:
    """``NAME = (...)``, wrapped one item a line when it would pass 100 columns."""
    if len(items) == 1:
        return f"{name} = ({lit(items[0])},)"
    line = f"{name} = (" + ", ".join(lit(i) for i in items) + ")"
    if len(line) <= 100:
        return line
    return "\n".join([f"{name} = (", *[f"    {lit(i)}," for i in items], ")"])


def _imports(spec: WorkflowSpec) -> str:
    """The names taken from ``RUNTIME_MODULE`` (only what this module uses)."""
    names = ["CALL_OPERATION", "CallRequest", "StepStatus"]
    if any(isinstance(s, ApprovalStep) for s in spec.steps):
        names += ["ApprovalDecision", "check_decision"]
    if any(isinstance(s, CallStep) and s.poll is not None for s in spec.steps):
        names.append("PollUntil")
    names += ["compare", "lookup", "text"]
    ordered = sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    return "\n".join(f"        {n}," for n in ordered)


def _run(spec: WorkflowSpec, input_class: str, stops: bool) -> list[str]:
    result = '{"status": "completed", "path": list(self._path), "results": self._results}'
    lines = [
        "    @workflow.run",
        f"    async def run(self, data: {input_class}) -> dict[str, Any]:",
        "        steps = {",
        *[f"            {lit(s.id)}: self._step_{ident(s.id, 'step')}," for s in spec.steps],
        "        }",
        f"        step = {lit(spec.steps[0].id)}",
        '        while step != "end":',
        "            handler = steps.get(step)",
        "            if handler is None or len(self._path) >= MAX_STEPS:",
        '                raise ApplicationError("cannot run step " + step, non_retryable=True)',
        "            self._path.append(step)",
        "            step = await handler(data)",
    ]
    if not stops:
        return lines + [
            '        self._set_status("", "done")',
            "        await workflow.wait_condition(workflow.all_handlers_finished)",
            f"        return {result}",
        ]
    return lines + [
        '        self._set_status("", "stopped" if self._stopped else "done")',
        "        await workflow.wait_condition(workflow.all_handlers_finished)",
        "        if self._stopped:",
        "            return {",
        '                "status": "stopped",',
        '                "reason": self._stopped,',
        '                "path": list(self._path),',
        '                "results": self._results,',
        "            }",
        f"        return {result}",
    ]


def render(spec: WorkflowSpec, scopes: tuple[str, ...] | list[str] = ()) -> str:
    """The Python module for ``spec`` (deterministic; raises SpecError on anything unsafe)."""
    workflow_class, input_class = class_names(spec)
    has_parallel = any(isinstance(s, ParallelStep) for s in spec.steps)
    has_approval = any(isinstance(s, ApprovalStep) for s in spec.steps)
    operations = sorted({s.operation for s in spec.operation_steps()})
    out = [
        _HEADER.format(
            name=ident(spec.name, "name"),
            asyncio="\nimport asyncio" if has_parallel else "",
            imports=_imports(spec),
            runtime=RUNTIME_MODULE,
        )
    ]
    out += [
        f"SPEC_NAME = {lit(spec.name)}",
        f"DESCRIPTION = {lit(spec.description)}",
        _tuple("SCOPES", sorted(scopes)),
        _tuple("OPERATIONS", operations),
        f"EXECUTION_TIMEOUT_S = {lit(spec.execution_timeout_s)}",
        f"MAX_STEPS = {lit(10 * len(spec.steps))}",
        "",
        "",
        *_input_class(spec, input_class),
        "",
        "",
        f"@workflow.defn(name={lit(workflow_type(spec))})",
        f"class {workflow_class}:",
        f'    """Drafted workflow {spec.name}; see DESCRIPTION."""',
        "",
        "    def __init__(self) -> None:",
        "        self._results: dict[str, Any] = {}",
        "        self._path: list[str] = []",
        "        self._status = StepStatus()",
    ]
    if has_approval:
        out += [
            "        self._decisions: dict[str, ApprovalDecision] = {}",
            '        self._stopped = ""',
        ]
    out += ["", *_run(spec, input_class, has_approval)]
    out.append(_HELPERS.rstrip("\n"))
    if has_approval:
        out.append(_APPROVAL_HELPERS.rstrip("\n"))
    out.append(_STATUS_QUERY.rstrip("\n"))
    for step in spec.steps:
        out += ["", *step_method(spec, step, input_class)]
    return "\n".join(out) + "\n"


def code_hash(code: str) -> str:
    """SHA-256 of rendered or edited code (what the store and reports record)."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def former_renderings(code: str) -> list[str]:
    """``code`` (today's rendering) as earlier atc versions wrote it: only the runtime's name differs.

    Lets a version stored before the runtime module was renamed still be proved
    against its code hash; what runs is always today's rendering.
    """
    line = f"    from {RUNTIME_MODULE} import ("
    return [code.replace(line, f"    from {old} import (", 1) for old in FORMER_RUNTIME_MODULES]


__all__ = [
    "FORMER_RUNTIME_MODULES",
    "RUNTIME_MODULE",
    "class_names",
    "code_hash",
    "former_renderings",
    "render",
    "value_expr",
    "workflow_type",
]
