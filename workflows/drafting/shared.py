"""Inputs, outputs and names shared by the drafting workflows, their activities and starter.

Pure dataclasses (they are imported inside the workflow sandbox). Nothing
here ever holds a secret: the LLM endpoint and the *name* of the variable
holding its key come from the worker's own settings, so payloads and
history carry requests, scope names, product file paths and draft ids only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The worker and the starter use ``Settings.temporal_task_queue``; this is the
# queue tests (and callers without settings) use.
TASK_QUEUE = "atc-drafting"

DRAFT_WORKFLOW = "DraftRequestWorkflow"
REVIEW_WORKFLOW = "ReviewWorkflow"
PLAN_ACTIVITY = "atc.drafting.plan"
VALIDATE_ACTIVITY = "atc.drafting.validate"
STORE_ACTIVITY = "atc.drafting.store"
REVIEW_STATE_ACTIVITY = "atc.review.load"
RECORD_DECISION_ACTIVITY = "atc.review.record"

# ApplicationError types: the plan activity's retry policy stops on these.
LLM_ERROR = "LLMError"
LLM_UNAVAILABLE = "LLMUnavailable"
INPUT_ERROR = "InputError"
POLICY_DENIED = "PolicyDenied"

REVIEW_ACTIONS = ("approve", "reject", "comment")
DEFAULT_REVIEW_TIMEOUT_S = 7 * 24 * 3600.0


def review_workflow_id(draft_id: str) -> str:
    """The one review workflow of a draft."""
    return f"review-{draft_id}"


@dataclass
class DraftInput:
    """What ``DraftRequestWorkflow`` drafts (mirrors ``copilot.drafting.service.DraftJob``)."""

    request: str
    scopes: list[str]
    products: str
    planner: str = "auto"
    repair_attempts: int = 2
    actor: str = "unknown"
    context: list[dict[str, Any]] = field(default_factory=list)
    run_dry_run: bool = True
    store: bool = True
    # Bounds for Temporal's retries of transient LLM failures (429, 5xx, timeouts).
    plan_attempts: int = 5
    plan_timeout_s: float = 90.0
    # Start the draft's ReviewWorkflow once a valid draft is stored (0: don't).
    review_timeout_s: float = 0.0


@dataclass
class PlanInput:
    """One planner call: the request plus the findings of the attempt before."""

    request: str
    scopes: list[str]
    products: str
    planner: str = "auto"
    context: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, str]] = field(default_factory=list)
    previous_answer: str | None = None


@dataclass
class PlanOutput:
    """A planner's answer and its cost; ``activity_attempt`` is Temporal's attempt number."""

    answer: dict[str, Any] | None
    raw: str | None
    parse_error: str | None
    planner: str
    model: str | None
    repairable: bool
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_hash: str | None = None
    model_hash: str | None = None
    notes: list[str] = field(default_factory=list)
    activity_attempt: int = 1
    seconds: float = 0.0


@dataclass
class ValidateInput:
    """One attempt's answer to check (rules, render, sandbox load, dry run)."""

    answer: Any
    parse_error: str | None
    scopes: list[str]
    products: str
    run_dry_run: bool = True


@dataclass
class ValidateOutput:
    """The checks' outcome; ``valid`` means every rule passed and the dry run completed."""

    rules_ok: bool
    valid: bool
    findings: list[dict[str, str]]
    spec_json: str | None = None
    code: str | None = None
    dry_run: dict[str, Any] | None = None
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class DraftOutcome:
    """Everything about a drafting run, as ``copilot.drafting.draft.DraftResult`` holds it."""

    request: str
    scopes: list[str]
    valid: bool = False
    rules_ok: bool = False
    planner: str = ""
    model: str | None = None
    answer: Any = None
    spec_json: str | None = None
    code: str | None = None
    findings: list[dict[str, str]] = field(default_factory=list)
    dry_run: dict[str, Any] | None = None
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_hash: str | None = None
    model_hash: str | None = None
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    plan_activity_attempts: list[int] = field(default_factory=list)
    draft_id: str | None = None
    version: int | None = None
    review_workflow_id: str | None = None


@dataclass
class StoreInput:
    """Write a drafting run to the store as a new draft (its version 1)."""

    outcome: DraftOutcome
    products: str
    actor: str


@dataclass
class ReviewInput:
    """Review one draft; ``timeout_s`` bounds the wait for a decision."""

    draft_id: str
    timeout_s: float = DEFAULT_REVIEW_TIMEOUT_S


@dataclass
class VersionState:
    """The draft's latest version as the store sees it."""

    version: int
    valid: bool
    status: str


@dataclass
class ReviewDecision:
    """A reviewer's decision on one version of a draft (``version`` 0: the current one)."""

    action: str
    reviewer: str
    comment: str = ""
    version: int = 0


@dataclass
class RecordInput:
    """A decision to record in the store's audit trail."""

    draft_id: str
    decision: ReviewDecision


@dataclass
class ReviewState:
    """What the review workflow knows (its ``state`` query and its result)."""

    draft_id: str
    version: int = 0
    valid: bool = False
    status: str = "pending"
    deadline: str | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)


def decision_problem(state: ReviewState, decision: ReviewDecision) -> str | None:
    """Why a decision must be refused (the update validator), or None. Pure."""
    if decision.action not in REVIEW_ACTIONS:
        return f"unknown action {decision.action!r}; use one of {', '.join(REVIEW_ACTIONS)}"
    if not decision.reviewer.strip():
        return "a decision must name its reviewer"
    if decision.version and decision.version != state.version:
        return f"version {decision.version} is not the current version ({state.version})"
    if state.status != "pending" and decision.action != "comment":
        return f"the review is {state.status}; it takes comments only"
    if decision.action == "approve" and not state.valid:
        return f"version {state.version} failed validation; it cannot be approved"
    return None
