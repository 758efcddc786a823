"""The body of each step method in a rendered workflow (see :mod:`copilot.drafting.render`)."""

from __future__ import annotations

from copilot.drafting.literals import dict_lines, ident, lit, nest, ref_expr, value_expr
from copilot.drafting.refs import kept_paths, parse_template, poll_target
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

I2, I3 = " " * 8, " " * 12


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


def _retry_lines(retry: dict[str, float | int], indent: str) -> list[str]:
    inner = indent + " " * 4
    return [
        f"{indent}RetryPolicy(",
        f"{inner}initial_interval={_seconds(float(retry['initial_interval_s']))},",
        f"{inner}backoff_coefficient={lit(float(retry['backoff']))},",
        f"{inner}maximum_interval={_seconds(float(retry['max_interval_s']))},",
        f"{inner}maximum_attempts={lit(int(retry['max_attempts']))},",
        f"{indent}),",
    ]


def _poll_retry(step: CallStep) -> dict[str, float | int]:
    """A poll asks again by being retried: every ``interval_s``, at most ``max_attempts`` times."""
    poll = step.poll
    if poll is None or poll.max_attempts is None or poll.interval_s is None:
        raise SpecError(f"step {step.id}: a poll needs max_attempts and interval_s")
    interval = float(poll.interval_s)
    return {
        "initial_interval_s": interval,
        "backoff": 1.0,
        "max_interval_s": interval,
        "max_attempts": poll.max_attempts,
    }


def wrapped(head: str, args: list[str], indent: str, tail: str = "") -> list[str]:
    """``head(args)tail`` laid out the way ruff format lays it out within 100 columns."""
    one = f"{indent}{head}({', '.join(args)}){tail}"
    if len(one) <= 100:
        return [one]
    hug = f"{indent}    {', '.join(args)}"
    if len(hug) <= 100:
        return [f"{indent}{head}(", hug, f"{indent}){tail}"]
    return [f"{indent}{head}(", *[f"{indent}    {a}," for a in args], f"{indent}){tail}"]


def _until(step: CallStep, indent: str) -> list[str]:
    path = poll_target(step)
    if path is None or step.poll is None:
        raise SpecError(
            f"step {step.id}: poll.until.left must be one reference to this step's result, "
            f"like ${{steps.{step.id}.body.status}}"
        )
    until = step.poll.until
    keys = "(" + ", ".join(lit(k) for k in path) + ("," if len(path) == 1 else "") + ")"
    args = [
        keys,
        lit(until.op),
        lit(until.right),
        f"attempts={lit(step.poll.max_attempts)}",
    ]
    return wrapped("until=PollUntil", args, indent, ",")


def _call_lines(
    step: CallStep | NotifyStep, inputs: set[str], keep: tuple[str, ...], indent: str
) -> list[str]:
    if step.timeout_s is None:
        raise SpecError(f"step {step.id} has no timeout_s; the renderer refuses to guess one")
    poll = isinstance(step, CallStep) and step.poll is not None
    retry = _poll_retry(step) if poll else effective_retry(step.retry)
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
    if keep:
        lines += _keyword("keep", _tuple_lines(keep, width), inner)
    if poll:
        lines += _until(step, inner)
    every = [f"{indent}    every_s={lit(float(retry['initial_interval_s']))},"] if poll else []
    return [
        *lines,
        f"{indent}    ),",
        f"{indent}    {_seconds(step.timeout_s)},",
        *_retry_lines(retry, indent + "    "),
        *every,
        f"{indent})",
    ]


def _tuple_lines(items: tuple[str, ...], indent: int) -> list[str]:
    """A tuple of string literals, on one line when short (as ruff format leaves it)."""
    one = "(" + ", ".join(lit(i) for i in items) + ("," if len(items) == 1 else "") + ")"
    if indent + len("keep=") + len(one) + 1 <= 100:
        return [one]
    pad = " " * (indent + 4)
    return ["(", *[f"{pad}{lit(i)}," for i in items], " " * indent + ")"]


def _call_step(spec: WorkflowSpec, step: CallStep | NotifyStep, inputs: set[str]) -> list[str]:
    keep = kept_paths(spec).get(step.id, ())
    return [
        *_call_lines(step, inputs, keep, I2),
        f"{I2}return {_target(successors(spec, step)[0])}",
    ]


def _timeout_lines(spec: WorkflowSpec, step: ApprovalStep) -> list[str]:
    """What the step returns when nobody answered in time."""
    action = step.timeout_action()
    approve, reject = successors(spec, step)[:2]
    reason = lit(f"approval {step.id} timed out")
    if action == "fail":
        return wrapped("raise ApplicationError", [reason, "non_retryable=True"], I2)
    if action == "escalate":
        if step.on_timeout_next is None or step.on_timeout_next == END:
            raise SpecError(f"approval {step.id} escalates but names no step in on_timeout_next")
        return [f"{I2}return {_target(step.on_timeout_next)}"]
    if action in ("approve", "reject"):
        return [f"{I2}return {_target(approve if action == 'approve' else reject)}"]
    return [f"{I2}return self._stop({reason})"]


def _approval_step(spec: WorkflowSpec, step: ApprovalStep, inputs: set[str]) -> list[str]:
    if step.timeout_s is None:
        raise SpecError(
            f"approval {step.id} has no timeout_s; the renderer refuses to wait forever"
        )
    approve, reject = successors(spec, step)[:2]
    return [
        f"{I2}outcome = await self._approval(",
        f"{I3}{lit(step.id)},",
        f"{I3}approver={lit(step.approver)},",
        f"{I3}prompt={value_expr(step.prompt, inputs)},",
        f"{I3}timeout={_seconds(step.timeout_s)},",
        f"{I2})",
        f'{I2}if outcome == "approve":',
        f"{I3}return {_target(approve)}",
        f'{I2}if outcome == "reject":',
        f"{I3}return {_target(reject)}",
        *_timeout_lines(spec, step),
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
