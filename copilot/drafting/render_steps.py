"""The body of each step method in a rendered workflow (see :mod:`copilot.drafting.render`)."""

from __future__ import annotations

from copilot.drafting.literals import dict_lines, ident, lit, nest, ref_expr, value_expr
from copilot.drafting.refs import parse_template
from copilot.drafting.spec import (
    END,
    ApprovalStep,
    BranchStep,
    CallStep,
    Condition,
    NotifyStep,
    ParallelStep,
    SleepStep,
    Step,
    Value,
    WorkflowSpec,
    effective_retry,
    successors,
)
from copilot.errors import SpecError

I2, I3, I4 = " " * 8, " " * 12, " " * 16


def _values(values: list[Value], inputs: set[str], where: str, indent: int) -> list[str]:
    pairs = [(v.name, value_expr(v.value, inputs)) for v in values]
    return dict_lines(nest(pairs, where), indent)


def _keyword(name: str, lines: list[str], indent: str) -> list[str]:
    if len(lines) == 1:
        return [f"{indent}{name}={lines[0]},"]
    return [f"{indent}{name}={lines[0]}", *lines[1:-1], f"{lines[-1]},"]


def _target(target: str) -> str:
    return lit(target if target == END else ident(target, "step"))


def _seconds(value: float | int) -> str:
    return f"timedelta(seconds={lit(value)})"


def condition_expr(condition: Condition, inputs: set[str]) -> str:
    """``compare(left, op, right)``: total, so a bad type is False, not a crash."""
    parts = parse_template(condition.left)
    if len(parts) == 1 and not isinstance(parts[0], str):
        left = ref_expr(parts[0], inputs)
    else:
        left = value_expr(condition.left, inputs)
    return f"compare({left}, {lit(condition.op)}, {lit(condition.right)})"


def _call_lines(step: CallStep | NotifyStep, inputs: set[str], indent: str) -> list[str]:
    if step.timeout_s is None:
        raise SpecError(f"step {step.id} has no timeout_s; the renderer refuses to guess one")
    retry = effective_retry(step.retry)
    inner = indent + " " * 8
    lines = [f"{indent}await self._call(", f"{indent}    CallRequest("]
    lines.append(f"{inner}step={lit(step.id)},")
    lines.append(f"{inner}operation={lit(step.operation)},")
    width = len(inner)
    lines += _keyword("params", _values(step.params, inputs, f"{step.id}.params", width), inner)
    query = step.query if isinstance(step, CallStep) else []
    lines += _keyword("query", _values(query, inputs, f"{step.id}.query", width), inner)
    if step.body:
        lines += _keyword("body", _values(step.body, inputs, f"{step.id}.body", width), inner)
    lines += [
        f"{indent}    ),",
        f"{indent}    {_seconds(step.timeout_s)},",
        f"{indent}    RetryPolicy(",
        f"{inner}initial_interval={_seconds(float(retry['initial_interval_s']))},",
        f"{inner}backoff_coefficient={lit(float(retry['backoff']))},",
        f"{inner}maximum_interval={_seconds(float(retry['max_interval_s']))},",
        f"{inner}maximum_attempts={lit(int(retry['max_attempts']))},",
        f"{indent}    ),",
        f"{indent})",
    ]
    return lines


def _call_step(spec: WorkflowSpec, step: CallStep | NotifyStep, inputs: set[str]) -> list[str]:
    poll = step.poll if isinstance(step, CallStep) else None
    if poll is None:
        return [*_call_lines(step, inputs, I2), f"{I2}return {_target(successors(spec, step)[0])}"]
    if poll.max_attempts is None or poll.interval_s is None:
        raise SpecError(f"step {step.id}: a poll needs max_attempts and interval_s")
    attempts = lit(poll.max_attempts)
    return [
        f"{I2}for attempt in range({attempts}):",
        *_call_lines(step, inputs, I3),
        f"{I3}if {condition_expr(poll.until, inputs)}:",
        f"{I4}break",
        f"{I3}if attempt + 1 < {attempts}:",
        f"{I4}await self._sleep({lit(step.id)}, {_seconds(poll.interval_s)})",
        f"{I2}return {_target(successors(spec, step)[0])}",
    ]


def _approval_step(spec: WorkflowSpec, step: ApprovalStep, inputs: set[str]) -> list[str]:
    if step.timeout_s is None:
        raise SpecError(
            f"approval {step.id} has no timeout_s; the renderer refuses to wait forever"
        )
    approve, reject = successors(spec, step)
    return [
        f"{I2}outcome = await self._approval(",
        f"{I3}{lit(step.id)},",
        f"{I3}approver={lit(step.approver)},",
        f"{I3}prompt={value_expr(step.prompt, inputs)},",
        f"{I3}timeout={_seconds(step.timeout_s)},",
        f"{I3}on_timeout={lit(step.on_timeout or 'reject')},",
        f"{I2})",
        f'{I2}if outcome == "approve":',
        f"{I3}return {_target(approve)}",
        f"{I2}return {_target(reject)}",
    ]


def _sleep_step(spec: WorkflowSpec, step: SleepStep) -> list[str]:
    if step.duration_s is None:
        raise SpecError(f"sleep {step.id} has no duration_s")
    return [
        f"{I2}await self._sleep({lit(step.id)}, {_seconds(step.duration_s)})",
        f"{I2}return {_target(successors(spec, step)[0])}",
    ]


def _branch_step(step: BranchStep, inputs: set[str]) -> list[str]:
    return [
        f'{I2}self._set_status({lit(step.id)}, "branch")',
        f"{I2}if {condition_expr(step.condition, inputs)}:",
        f"{I3}return {_target(step.if_true)}",
        f"{I2}return {_target(step.if_false)}",
    ]


def _parallel_step(spec: WorkflowSpec, step: ParallelStep) -> list[str]:
    children = [ident(c, "step") for c in step.steps]
    lines = [
        f'{I2}self._set_status({lit(step.id)}, "parallel")',
        f"{I2}self._path.extend([{', '.join(lit(c) for c in children)}])",
        f"{I2}await asyncio.gather(",
    ]
    lines += [f"{I3}self._step_{c}(data)," for c in children]
    lines += [f"{I2})", f"{I2}return {_target(successors(spec, step)[0])}"]
    return lines


def step_method(spec: WorkflowSpec, step: Step, input_class: str) -> list[str]:
    """One ``async def _step_<id>(self, data) -> str`` returning the next step id."""
    inputs = {f.name for f in spec.inputs}
    name = ident(step.id, "step")
    lines = [f"    async def _step_{name}(self, data: {input_class}) -> str:"]
    if isinstance(step, (CallStep, NotifyStep)):
        lines += _call_step(spec, step, inputs)
    elif isinstance(step, ApprovalStep):
        lines += _approval_step(spec, step, inputs)
    elif isinstance(step, SleepStep):
        lines += _sleep_step(spec, step)
    elif isinstance(step, BranchStep):
        lines += _branch_step(step, inputs)
    elif isinstance(step, ParallelStep):
        lines += _parallel_step(spec, step)
    else:  # pragma: no cover - the schema admits no other kind
        raise SpecError(f"step {step.id}: unknown kind")
    return lines
