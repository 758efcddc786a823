"""Drafting and review as Temporal workflows: Temporal owns durability and retries.

``DraftRequestWorkflow`` runs the same attempt loop as the in-process path
(:class:`copilot.drafting.record.AttemptLoop`) with plan and validate as
activities (Temporal retries transient LLM failures with the server's delay;
validation heartbeats, so a dead worker is noticed in seconds), then stores
the draft under an id the workflow chose (a retried store is a no-op) and,
for a valid draft, starts its ``ReviewWorkflow``.

``ReviewWorkflow`` is the one writer of a draft's decisions. Its ``decide``
update names a version and its spec hash; the validator refuses, before
anything reaches history, unknown actions, an empty reviewer, a version or
hash that is not current and a second decision; the handler re-checks
(two updates can pass their validators in one activation) and records the
decision through an activity whose write is idempotent. Memo and search
attributes carry the version, hashes, status and decider.

Workflow code is deterministic: no I/O, activities referenced by name.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from copilot.drafting.decision import decision_problem
    from copilot.drafting.record import AttemptLoop, PlanOutput, ValidateOutput
    from workflows.authoring.review_attrs import review_attributes
    from workflows.authoring.shared import (
        INPUT_ERROR,
        LLM_ERROR,
        PLAN_ACTIVITY,
        POLICY_DENIED,
        RECORD_DECISION_ACTIVITY,
        REVIEW_STATE_ACTIVITY,
        REVIEW_WORKFLOW,
        STORE_ACTIVITY,
        VALIDATE_ACTIVITY,
        VALIDATE_HEARTBEAT_S,
        DraftInput,
        DraftRecord,
        RecordInput,
        ReviewDecision,
        ReviewInput,
        ReviewState,
        StoreInput,
        VersionState,
        review_workflow_id,
    )

NON_RETRYABLE = [LLM_ERROR, INPUT_ERROR, POLICY_DENIED]
# Short store writes: a worker lost mid-write is noticed this fast (they need no heartbeat
# of their own to finish well within it).
IO_HEARTBEAT = timedelta(seconds=10)
# I/O activities (validation, SQLite): a few tries, then the failure surfaces.
IO_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
    non_retryable_error_types=NON_RETRYABLE,
)


@workflow.defn(name="DraftRequestWorkflow")
class DraftRequestWorkflow:
    """Plan, validate and repair a draft, then store it; returns the whole run."""

    @workflow.run
    async def run(self, data: DraftInput) -> DraftRecord:
        plan_retry = RetryPolicy(
            initial_interval=timedelta(seconds=1),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=60),
            maximum_attempts=max(1, data.plan_attempts),
            non_retryable_error_types=NON_RETRYABLE,
        )
        loop = AttemptLoop.of(data)
        while (request := loop.next_plan()) is not None:
            plan = await workflow.execute_activity(
                PLAN_ACTIVITY,
                request,
                result_type=PlanOutput,
                start_to_close_timeout=timedelta(seconds=data.plan_timeout_s),
                retry_policy=plan_retry,
            )
            checked = await workflow.execute_activity(
                VALIDATE_ACTIVITY,
                loop.validate_input(plan),
                result_type=ValidateOutput,
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(seconds=VALIDATE_HEARTBEAT_S),
                retry_policy=IO_RETRY,
            )
            loop.fold(plan, checked)
        out = loop.finish()
        if data.store:
            await self._store(out, data)
        return out

    async def _store(self, out: DraftRecord, data: DraftInput) -> None:
        # The id is chosen here, deterministically: a retried store writes the same draft.
        draft_id = "drf_" + workflow.uuid4().hex[:12]
        review = out.valid and data.review_timeout_s > 0
        review_id = review_workflow_id(draft_id) if review else None
        out.draft_id = await workflow.execute_activity(
            STORE_ACTIVITY,
            StoreInput(out, data.products, data.actor, draft_id, review_id),
            result_type=str,
            start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=IO_HEARTBEAT,
            retry_policy=IO_RETRY,
        )
        out.version = 1
        if review_id:
            out.review_workflow_id = review_id
            await workflow.start_child_workflow(
                REVIEW_WORKFLOW,
                ReviewInput(draft_id, data.review_timeout_s, data.search_attributes),
                id=review_id,
                memo={"draft_id": draft_id, "request": data.request[:200]},
                # The review outlives the drafting run that started it.
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )


@workflow.defn(name="ReviewWorkflow")
class ReviewWorkflow:
    """One draft's review: a validated ``decide`` update, bounded by a timeout."""

    def __init__(self) -> None:
        self._state = ReviewState(draft_id="")
        self._loaded = False
        self._attrs = False
        # A person's approve/reject landed (atc's own "failed validation" is not a decision:
        # the review waits for a new version).
        self._decided = False
        # An approve/reject whose activity is still running: refuse a second one.
        self._deciding = False

    @workflow.run
    async def run(self, data: ReviewInput) -> ReviewState:
        self._state.draft_id, self._attrs = data.draft_id, data.search_attributes
        self._adopt(await self._load(data.draft_id))
        self._decided = self._state.status == "approved"
        deadline = workflow.now() + timedelta(seconds=data.timeout_s)
        self._state.deadline = deadline.isoformat()
        self._loaded = True
        self._publish()
        try:
            await workflow.wait_condition(
                lambda: self._decided, timeout=timedelta(seconds=data.timeout_s)
            )
        except TimeoutError:
            if not self._deciding:
                self._state.status = "expired"
                note = ReviewDecision(
                    "comment", "atc", f"review expired: no decision within {data.timeout_s:g} s"
                )
                await self._record(note)
                self._publish()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state

    def _adopt(self, latest: VersionState) -> None:
        s = self._state
        s.version, s.valid, s.spec_hash, s.code_hash = (
            latest.version, latest.valid, latest.spec_hash, latest.code_hash,
        )  # fmt: skip
        s.approved_version, s.decided_by = latest.approved_version, latest.decided_by
        s.status = "pending" if latest.status == "draft" else latest.status

    def _publish(self) -> None:
        memo, attributes = review_attributes(self._state)
        workflow.upsert_memo(memo)
        if self._attrs:
            workflow.upsert_search_attributes(attributes)

    async def _record(self, decision: ReviewDecision) -> VersionState:
        return await workflow.execute_activity(
            RECORD_DECISION_ACTIVITY,
            RecordInput(self._state.draft_id, decision),
            result_type=VersionState,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=IO_HEARTBEAT,
            retry_policy=IO_RETRY,
        )

    @workflow.update
    async def decide(self, decision: ReviewDecision) -> ReviewState:
        """Record an accepted decision in the store; returns the new state."""
        final = decision.action != "comment"
        if final:
            # Another update may have passed its validator in the same activation.
            problem = self._problem(decision)
            if problem:
                raise ApplicationError(problem, type=POLICY_DENIED, non_retryable=True)
            self._deciding = True
        if not decision.decision_id:
            info = workflow.current_update_info()
            decision.decision_id = f"{workflow.info().workflow_id}/{info.id if info else ''}"
        try:
            latest = await self._record(decision)
        finally:
            # A comment recorded meanwhile must not clear the mark of a decision in flight.
            self._deciding = self._deciding and not final
        entry = asdict(decision)
        entry["at"] = workflow.now().isoformat()
        self._state.decisions.append(entry)
        self._adopt(latest)
        self._decided = self._decided or final
        self._publish()
        return self._state

    @workflow.update
    async def refresh(self) -> ReviewState:
        """Reload the latest version (after a spec edit or a re-draft added one)."""
        # An update can arrive with the start, before run() has loaded the draft.
        await workflow.wait_condition(lambda: self._loaded)
        if not self._deciding:
            self._adopt(await self._load(self._state.draft_id))
            self._publish()
        return self._state

    async def _load(self, draft_id: str) -> VersionState:
        return await workflow.execute_activity(
            REVIEW_STATE_ACTIVITY,
            draft_id,
            result_type=VersionState,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=IO_HEARTBEAT,
            retry_policy=IO_RETRY,
        )

    def _problem(self, decision: ReviewDecision) -> str | None:
        if self._deciding and decision.action != "comment":
            return "another decision is being recorded"
        return decision_problem(self._state.as_version_state(), decision)

    @decide.validator
    def validate_decide(self, decision: ReviewDecision) -> None:
        # Runs before anything is written to history: a refusal leaves no trace.
        if not self._loaded:
            raise ApplicationError("the review is still loading the draft; try again")
        problem = self._problem(decision)
        if problem:
            raise ApplicationError(problem, type=POLICY_DENIED, non_retryable=True)

    @workflow.query
    def state(self) -> ReviewState:
        """The review's current state."""
        return self._state
