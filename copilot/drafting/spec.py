"""WorkflowSpec: the only thing a planner (LLM or offline) may produce.

A spec is data, never code: a name, typed inputs and a
flat list of steps. Steps run in list order unless a step says where to go
next (``next``, a branch's ``if_true``/``if_false``, an approval's
``on_reject`` or ``on_timeout_next``); ``"end"`` finishes the workflow.
Calls name catalog operations by id, never URLs.

Values in ``params``/``query``/``body`` and a condition's ``left`` are
templates: literal text with references ``${inputs.NAME}`` and
``${steps.STEP_ID.PATH...}`` (a call's result is ``{"status", "body"}``, an
approval's ``{"outcome", "reviewer", "comment"}``). A call's result keeps
only the body fields some step references, so large responses never enter
workflow history. Fields that a planner may leave ``null`` get the
documented defaults, except timeouts and what an approval does when nobody
answers: those are validation findings, not silent defaults.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

IDENT = r"^[a-z][a-z0-9_]{0,39}$"
STEP_TARGET = r"^[a-z][a-z0-9_]{0,39}$"
SPEC_NAME = r"^[a-z][a-z0-9_]{2,47}$"
# Catalog ids look like ``orders.get``; slashes, colons and spaces never
# appear, so nothing URL-like can pass the schema.
OPERATION_ID = r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)+$"
FIELD_NAME = r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}(\.[A-Za-z_][A-Za-z0-9_\-]{0,63}){0,4}$"
END = "end"

Ident = Annotated[str, Field(pattern=IDENT)]
StepTarget = Annotated[str, Field(pattern=STEP_TARGET, description='a step id, or "end"')]
Scalar = str | int | float | bool | None
ShortText = Annotated[str, Field(max_length=200)]
LongText = Annotated[str, Field(max_length=2000)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Value(_Model):
    """One named value: a path parameter, query parameter or body field.

    Body field names may be dotted (``address.city``) to build nested objects.
    """

    name: Annotated[str, Field(pattern=FIELD_NAME)]
    value: Annotated[Scalar, Field(description="literal, or a template with ${...} references")]


class RetrySpec(_Model):
    """Temporal retry policy of a call; null fields take the defaults shown."""

    initial_interval_s: Annotated[float | None, Field(ge=0.1, le=3600)] = None  # 1
    backoff: Annotated[float | None, Field(ge=1, le=10)] = None  # 2.0
    max_interval_s: Annotated[float | None, Field(ge=0.1, le=86400)] = None  # 60
    max_attempts: Annotated[int | None, Field(ge=0, le=1000)] = None  # 5; 0 = unlimited


RETRY_DEFAULTS = {
    "initial_interval_s": 1.0,
    "backoff": 2.0,
    "max_interval_s": 60.0,
    "max_attempts": 5,
}


def effective_retry(retry: RetrySpec | None) -> dict[str, float | int]:
    """The retry policy a call runs with (defaults filled in)."""
    given = retry.model_dump() if retry else {}
    return {k: (given.get(k) if given.get(k) is not None else v) for k, v in RETRY_DEFAULTS.items()}


Comparison = Literal["eq", "ne", "gt", "ge", "lt", "le", "contains", "exists", "not_exists"]


class Condition(_Model):
    """``left op right``; ``left`` is usually one reference like ``${steps.get_order.body.total}``."""

    left: Annotated[str, Field(max_length=500)]
    op: Comparison
    right: Scalar = None


class Poll(_Model):
    """Repeat a call until ``until`` holds, at most ``max_attempts`` times, ``interval_s`` apart.

    ``until.left`` reads the call's own result (``${steps.THIS.body.FIELD}``).
    The repetition is the activity's retry policy, so history holds one
    activity however often it asks; transient failures count as attempts too.
    When the last attempt still does not meet ``until``, the step succeeds
    with that last answer and the workflow goes on (branch on it if that
    matters); the step fails only when the last attempt itself fails.
    """

    until: Condition
    interval_s: Annotated[int | None, Field(ge=1)] = None
    max_attempts: Annotated[int | None, Field(ge=1)] = None


class _StepBase(_Model):
    id: Ident
    description: Annotated[str | None, Field(max_length=500)] = None


class _OperationStep(_StepBase):
    operation: Annotated[str, Field(pattern=OPERATION_ID, max_length=120)]
    params: list[Value] = Field(default_factory=list, max_length=20)
    body: list[Value] = Field(default_factory=list, max_length=40)
    timeout_s: Annotated[int | None, Field(ge=1, description="start-to-close timeout")] = None
    retry: RetrySpec | None = None
    next: StepTarget | None = None


class CallStep(_OperationStep):
    """Call one catalog operation through the scoped gateway client."""

    kind: Literal["call"]
    query: list[Value] = Field(default_factory=list, max_length=20)
    poll: Poll | None = None


class NotifyStep(_OperationStep):
    """Send a notification: an operation call (e.g. ``notifications.send_email``)."""

    kind: Literal["notify"]


OnTimeout = Literal["stop", "escalate", "fail", "reject", "approve"]
ON_TIMEOUT_DEFAULT = "stop"


class ApprovalStep(_StepBase):
    """Wait for one human decision (the ``decide`` update; the first decision is final).

    When nobody answers within ``timeout_s``, ``on_timeout`` says what happens:
    ``stop`` ends the workflow without running another step, ``escalate`` goes
    to ``on_timeout_next`` (e.g. a notification to a manager), ``fail`` fails
    the workflow, ``reject``/``approve`` take that branch. Null behaves as
    ``stop``, and is a validation finding: silence never runs a branch unless
    the spec says so.
    """

    kind: Literal["approval"]
    approver: ShortText
    prompt: Annotated[str, Field(max_length=1000)]
    timeout_s: Annotated[int | None, Field(ge=1)] = None
    on_timeout: Annotated[
        OnTimeout | None,
        Field(
            description="when nobody answers: stop (end, no further step), escalate (go to "
            "on_timeout_next), fail, or, only if the request says so, reject/approve"
        ),
    ] = None
    on_timeout_next: Annotated[
        str | None,
        Field(pattern=STEP_TARGET, description='with on_timeout "escalate": the step to go to'),
    ] = None
    on_reject: StepTarget | None = None  # default: end
    next: StepTarget | None = None

    def timeout_action(self) -> str:
        """What a timeout does (``on_timeout`` or its default)."""
        return self.on_timeout or ON_TIMEOUT_DEFAULT


class SleepStep(_StepBase):
    """Wait on the workflow clock."""

    kind: Literal["sleep"]
    duration_s: Annotated[int | None, Field(ge=1)] = None
    next: StepTarget | None = None


class BranchStep(_StepBase):
    """Go to ``if_true`` or ``if_false`` by a condition over inputs and earlier results."""

    kind: Literal["branch"]
    condition: Condition
    if_true: StepTarget
    if_false: StepTarget


class ParallelStep(_StepBase):
    """Run call/notify steps at the same time, then continue with ``next``."""

    kind: Literal["parallel"]
    steps: Annotated[list[Ident], Field(min_length=2, max_length=8)]
    next: StepTarget | None = None


Step = Annotated[
    CallStep | NotifyStep | ApprovalStep | SleepStep | BranchStep | ParallelStep,
    Field(discriminator="kind"),
]


class InputField(_Model):
    """One field of the workflow's typed input dataclass."""

    name: Ident
    type: Literal["string", "integer", "number", "boolean"]
    description: Annotated[str | None, Field(max_length=500)] = None
    required: bool | None = None  # default: true
    default: Scalar = None
    example: Annotated[Scalar, Field(description="a sample value, used by the dry run")] = None


class WorkflowSpec(_Model):
    """A drafted workflow: inputs, steps, and an overall execution timeout."""

    name: Annotated[str, Field(pattern=SPEC_NAME, description="snake_case, 3-48 characters")]
    description: LongText
    inputs: list[InputField] = Field(default_factory=list, max_length=20)
    steps: Annotated[list[Step], Field(min_length=1, max_length=40)]
    execution_timeout_s: Annotated[int | None, Field(ge=1)] = None

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def operation_steps(self) -> list[CallStep | NotifyStep]:
        """Every step that calls an operation, in list order."""
        return [s for s in self.steps if isinstance(s, (CallStep, NotifyStep))]

    def to_json(self) -> str:
        """Canonical JSON (stable key order, 2-space indent, trailing newline)."""
        return self.model_dump_json(indent=2, exclude_none=False) + "\n"


def parse_spec(doc: object) -> WorkflowSpec:
    """Validate a decoded JSON document (raises pydantic.ValidationError)."""
    return WorkflowSpec.model_validate(doc)


def successors(spec: WorkflowSpec, step: Step) -> list[str]:
    """The targets control may go to after ``step`` (``"end"`` included).

    The default is the next step in list order that is not a parallel child
    (children run inside their parallel step, never in sequence). An
    approval's are ``[approve, reject]``, plus the escalation target when it
    escalates on timeout.
    """
    children = parallel_children(spec)
    index = spec.steps.index(step)
    later = [s.id for s in spec.steps[index + 1 :] if s.id not in children]
    following = later[0] if later else END
    if isinstance(step, BranchStep):
        return [step.if_true, step.if_false]
    if isinstance(step, ApprovalStep):
        out = [step.next or following, step.on_reject or END]
        if step.timeout_action() == "escalate" and step.on_timeout_next is not None:
            out.append(step.on_timeout_next)
        return out
    return [step.next or following]


def parallel_children(spec: WorkflowSpec) -> set[str]:
    """Ids of steps that run only inside a parallel step."""
    return {c for s in spec.steps if isinstance(s, ParallelStep) for c in s.steps}
