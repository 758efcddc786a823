"""Inputs, outputs and names shared by the drafting workflows, their activities and starter.

Pure dataclasses (they are imported inside the workflow sandbox). The input,
the attempt types and the run's record are the ones the in-process path uses
(:mod:`copilot.drafting.record`: import the attempt types from there), and a
review decision is
:class:`copilot.drafting.decision.ReviewDecision`. Nothing here ever holds a
secret: the LLM endpoint and the *name* of the variable holding its key come
from the worker's own settings, so payloads and history carry requests, scope
names, product file paths and draft ids only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from copilot.drafting.decision import ReviewDecision, VersionState
from copilot.drafting.record import DEFAULT_REVIEW_TIMEOUT_S, DraftInput, DraftRecord

__all__ = [
    "DEFAULT_REVIEW_TIMEOUT_S",
    "DraftInput",
    "DraftRecord",
    "RecordInput",
    "ReviewDecision",
    "ReviewInput",
    "ReviewState",
    "StoreInput",
    "VersionState",
]

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

# ApplicationError types: the retry policies stop on these.
LLM_ERROR = "LLMError"
LLM_UNAVAILABLE = "LLMUnavailable"
INPUT_ERROR = "InputError"
POLICY_DENIED = "PolicyDenied"

# A worker that dies mid-validation is noticed within this many seconds.
VALIDATE_HEARTBEAT_S = 10.0

# Search attributes atc registers (``temporal workflow list --query ...``).
SA_DRAFT_ID = "AtcDraftId"
SA_REVIEW_STATUS = "AtcReviewStatus"
SA_VERSION = "AtcVersion"
SA_SPEC_HASH = "AtcSpecHash"
SA_DECIDED_BY = "AtcDecidedBy"
KEYWORD_ATTRIBUTES = (SA_DRAFT_ID, SA_REVIEW_STATUS, SA_SPEC_HASH, SA_DECIDED_BY)
INT_ATTRIBUTES = (SA_VERSION,)


def review_workflow_id(draft_id: str) -> str:
    """The review workflow of a draft."""
    return f"review-{draft_id}"


@dataclass
class StoreInput:
    """Write a drafting run to the store as draft ``draft_id`` (its version 1)."""

    record: DraftRecord
    products: str
    actor: str
    draft_id: str
    review_workflow_id: str | None = None


@dataclass
class ReviewInput:
    """Review one draft; ``timeout_s`` bounds the wait for a decision."""

    draft_id: str
    timeout_s: float = DEFAULT_REVIEW_TIMEOUT_S
    search_attributes: bool = False


@dataclass
class RecordInput:
    """A decision for the store (written by the review workflow's activity only)."""

    draft_id: str
    decision: ReviewDecision


@dataclass
class ReviewState:
    """What the review workflow knows (its ``state`` query and its result)."""

    draft_id: str
    version: int = 0
    valid: bool = False
    spec_hash: str = ""
    code_hash: str = ""
    status: str = "pending"
    approved_version: int | None = None
    decided_by: str = ""
    deadline: str | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)

    def as_version_state(self) -> VersionState:
        """The state in the store's terms (``draft`` while pending)."""
        status = "draft" if self.status == "pending" else self.status
        return VersionState(
            self.version, self.valid, status, self.spec_hash, self.code_hash,
            self.approved_version, self.decided_by,
        )  # fmt: skip
