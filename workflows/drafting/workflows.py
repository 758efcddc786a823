"""Drafting and review as Temporal workflows (decision 5: Temporal owns durability and retries).

``DraftRequestWorkflow`` orchestrates the repair loop: plan (an activity;
Temporal retries transient LLM failures with the server's delay), validate
(an activity: rules, render, sandbox load, dry run), and at most
``repair_attempts`` re-asks with the findings; then stores the draft (an
activity) and, when asked, starts the draft's ``ReviewWorkflow``.

``ReviewWorkflow`` (one per draft id) waits, at most ``timeout_s``, for a
``decide`` update: its validator refuses unknown actions, an empty
reviewer, a non-current version and approving a version that failed
validation before anything reaches history; accepted decisions are recorded
in the store's audit trail by an activity.

Workflow code is deterministic: no I/O, activities referenced by name.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.drafting.shared import (
        INPUT_ERROR,
        LLM_ERROR,
        PLAN_ACTIVITY,
        POLICY_DENIED,
        RECORD_DECISION_ACTIVITY,
        REVIEW_STATE_ACTIVITY,
        REVIEW_WORKFLOW,
        STORE_ACTIVITY,
        VALIDATE_ACTIVITY,
        DraftInput,
        DraftOutcome,
        PlanInput,
        PlanOutput,
        RecordInput,
        ReviewDecision,
        ReviewInput,
        ReviewState,
        StoreInput,
        ValidateInput,
        ValidateOutput,
        VersionState,
        decision_problem,
        review_workflow_id,
    )

NON_RETRYABLE = [LLM_ERROR, INPUT_ERROR, POLICY_DENIED]
# I/O activities (validation, SQLite): a few tries, then the failure surfaces.
IO_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=3,
    non_retryable_error_types=NON_RETRYABLE,
)


@workflow.defn(name="DraftRequestWorkflow")
class DraftRequestWorkflow:
    """Plan, validate and repair a draft, then store it; returns the whole run."""

    @workflow.run
    async def run(self, data: DraftInput) -> DraftOutcome:
        out = DraftOutcome(request=data.request, scopes=list(data.scopes))
        plan_retry = RetryPolicy(
            initial_interval=timedelta(seconds=1),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=60),
            maximum_attempts=max(1, data.plan_attempts),
            non_retryable_error_types=NON_RETRYABLE,
        )
        feedback: list[dict[str, str]] = []
        previous: str | None = None
        for attempt in range(1, max(0, data.repair_attempts) + 2):
            plan = await workflow.execute_activity(
                PLAN_ACTIVITY,
                PlanInput(
                    data.request,
                    list(data.scopes),
                    data.products,
                    data.planner,
                    list(data.context),
                    feedback,
                    previous,
                ),
                result_type=PlanOutput,
                start_to_close_timeout=timedelta(seconds=data.plan_timeout_s),
                retry_policy=plan_retry,
            )
            answer = plan.answer if plan.answer is not None else plan.raw
            checked = await workflow.execute_activity(
                VALIDATE_ACTIVITY,
                ValidateInput(
                    answer, plan.parse_error, list(data.scopes), data.products, data.run_dry_run
                ),
                result_type=ValidateOutput,
                start_to_close_timeout=timedelta(minutes=10),
                retry_policy=IO_RETRY,
            )
            _record(out, attempt, plan, checked, answer)
            done = checked.valid or (checked.rules_ok and not data.run_dry_run)
            if done or not plan.repairable:
                break
            feedback = [f for f in checked.findings if f.get("severity") == "error"]
            previous = plan.raw if plan.raw is not None else json.dumps(plan.answer)
        if out.rules_ok and not data.run_dry_run:
            out.notes.append(
                "dry run skipped: the rules pass, but a draft is valid only once it ran"
            )
        if data.store:
            out.draft_id = await workflow.execute_activity(
                STORE_ACTIVITY,
                StoreInput(out, data.products, data.actor),
                result_type=str,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=IO_RETRY,
            )
            out.version = 1
            if out.valid and data.review_timeout_s > 0:
                out.review_workflow_id = review_workflow_id(out.draft_id)
                await workflow.start_child_workflow(
                    REVIEW_WORKFLOW,
                    ReviewInput(out.draft_id, data.review_timeout_s),
                    id=out.review_workflow_id,
                    # The review outlives the drafting run that started it.
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                )
        return out


def _record(
    out: DraftOutcome, attempt: int, plan: PlanOutput, checked: ValidateOutput, answer: object
) -> None:
    """Fold one attempt into the outcome (as ``draft_workflow`` does in-process)."""
    out.attempts = attempt
    out.planner, out.model = plan.planner, plan.model
    out.prompt_tokens += plan.prompt_tokens
    out.completion_tokens += plan.completion_tokens
    out.prompt_hash = out.prompt_hash or plan.prompt_hash
    out.model_hash = plan.model_hash
    out.notes = list(dict.fromkeys([*out.notes, *plan.notes]))
    out.plan_activity_attempts.append(plan.activity_attempt)
    out.answer, out.spec_json, out.code = answer, checked.spec_json, checked.code
    out.findings, out.dry_run = checked.findings, checked.dry_run
    out.rules_ok, out.valid = checked.rules_ok, checked.valid
    out.seconds = {"planning": plan.seconds, **checked.seconds}
    out.history.append(
        {
            "attempt": attempt,
            "errors": [f for f in checked.findings if f.get("severity") == "error"],
            "prompt_tokens": plan.prompt_tokens,
            "completion_tokens": plan.completion_tokens,
            "seconds": dict(out.seconds),
            "plan_activity_attempt": plan.activity_attempt,
        }
    )


@workflow.defn(name="ReviewWorkflow")
class ReviewWorkflow:
    """One draft's review: a validated ``decide`` update, bounded by a timeout."""

    def __init__(self) -> None:
        self._state = ReviewState(draft_id="")
        self._loaded = False
        # An approve/reject whose activity is still running: refuse a second one.
        self._deciding = False

    @workflow.run
    async def run(self, data: ReviewInput) -> ReviewState:
        self._state.draft_id = data.draft_id
        latest = await self._load(data.draft_id)
        self._state.version, self._state.valid = latest.version, latest.valid
        # A draft the store already decided (or rejected as invalid) needs no review: done.
        if latest.status == "approved":
            self._state.status = "approved"
        elif latest.status == "rejected":
            self._state.status = "rejected"
        deadline = workflow.now() + timedelta(seconds=data.timeout_s)
        self._state.deadline = deadline.isoformat()
        self._loaded = True
        try:
            await workflow.wait_condition(
                lambda: self._state.status != "pending", timeout=timedelta(seconds=data.timeout_s)
            )
        except TimeoutError:
            # Someone may have decided outside Temporal (the dashboard, `atc drafts`
            # without --temporal): the store's decision stands; else the review expires.
            latest = await self._load(data.draft_id)
            if latest.status in ("approved", "rejected") and latest.valid:
                self._state.status = latest.status
            else:
                self._state.status = "expired"
                note = ReviewDecision(
                    "comment", "atc", f"review expired: no decision within {data.timeout_s:g} s"
                )
                await self._record(note)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    async def _record(self, decision: ReviewDecision) -> str:
        return await workflow.execute_activity(
            RECORD_DECISION_ACTIVITY,
            RecordInput(self._state.draft_id, decision),
            result_type=str,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=IO_RETRY,
        )

    @workflow.update
    async def decide(self, decision: ReviewDecision) -> ReviewState:
        """Record an accepted decision in the store; returns the new state."""
        final = decision.action != "comment"
        self._deciding = self._deciding or final
        try:
            status = await self._record(decision)
        finally:
            if final:
                self._deciding = False
        entry = asdict(decision)
        entry["version"] = self._state.version
        entry["at"] = workflow.now().isoformat()
        self._state.decisions.append(entry)
        if final:
            self._state.status = "approved" if status == "approved" else "rejected"
        return self._state

    @workflow.update
    async def refresh(self) -> ReviewState:
        """Reload the latest version (after an edit or a re-draft added one)."""
        latest = await self._load(self._state.draft_id)
        self._state.version, self._state.valid = latest.version, latest.valid
        return self._state

    async def _load(self, draft_id: str) -> VersionState:
        return await workflow.execute_activity(
            REVIEW_STATE_ACTIVITY,
            draft_id,
            result_type=VersionState,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=IO_RETRY,
        )

    @decide.validator
    def validate_decide(self, decision: ReviewDecision) -> None:
        # Runs before anything is written to history: a refusal leaves no trace.
        if not self._loaded:
            raise ApplicationError("the review is still loading the draft; try again")
        if self._deciding and decision.action != "comment":
            raise ApplicationError("another decision is being recorded", type=POLICY_DENIED)
        problem = decision_problem(self._state, decision)
        if problem:
            raise ApplicationError(problem, type=POLICY_DENIED, non_retryable=True)

    @workflow.query
    def state(self) -> ReviewState:
        """The review's current state."""
        return self._state
