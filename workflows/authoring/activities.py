"""The drafting and review activities: every LLM call and all I/O happen here.

Synchronous activities (the planner, the dry-run harness and SQLite are
blocking), so the worker runs them on a thread pool. They call the same
functions as the in-process path (``plan_attempt``, ``validate_attempt``)
and are idempotent: the store writes a draft under the id the workflow chose
and a decision under its decision id, so a retry after a lost completion
changes nothing. Validation heartbeats while its child processes run.

Errors become ``ApplicationError``s whose retryability Temporal acts on: a
transient LLM failure (429, 5xx, timeout) is retryable after the server's
``Retry-After`` (``next_retry_delay``); any other LLM failure, bad input or a
policy refusal is non-retryable. The OpenAI client's own retries stay off
(``OpenAIPlanner`` sets ``max_retries=0``), so Temporal is the one owner of
retries.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from copilot import failpoints
from copilot.config import Settings
from copilot.drafting import isolation
from copilot.drafting.draft import plan_attempt, validate_attempt
from copilot.drafting.planner import Planner
from copilot.drafting.planners import choose_planner
from copilot.drafting.record import PlanInput, PlanOutput, ValidateInput, ValidateOutput
from copilot.drafting.store import DraftStore
from copilot.errors import AtcError, InputError, LLMError, LLMUnavailable, PolicyDenied
from copilot.scopes import Catalog, load_catalog
from workflows.authoring.shared import (
    INPUT_ERROR,
    LLM_ERROR,
    LLM_UNAVAILABLE,
    PLAN_ACTIVITY,
    POLICY_DENIED,
    RECORD_DECISION_ACTIVITY,
    REVIEW_STATE_ACTIVITY,
    STORE_ACTIVITY,
    VALIDATE_ACTIVITY,
    RecordInput,
    StoreInput,
    VersionState,
)

# Never wait longer than this for a server's Retry-After (a hostile or broken
# server could ask for hours); the workflow's retry policy bounds the attempts.
MAX_RETRY_DELAY_S = 60.0


def to_application_error(exc: AtcError) -> ApplicationError:
    """An atc error as Temporal should treat it: retry only what may succeed later."""
    if isinstance(exc, LLMUnavailable):
        delay = None
        if exc.retry_after is not None:
            delay = timedelta(seconds=min(max(exc.retry_after, 0.0), MAX_RETRY_DELAY_S))
        return ApplicationError(exc.message, type=LLM_UNAVAILABLE, next_retry_delay=delay)
    kind = (
        LLM_ERROR
        if isinstance(exc, LLMError)
        else POLICY_DENIED
        if isinstance(exc, PolicyDenied)
        else INPUT_ERROR
        if isinstance(exc, InputError)
        else type(exc).__name__
    )
    return ApplicationError(exc.line(), type=kind, non_retryable=True)


class DraftingActivities:
    """The activities, bound to the worker's settings (LLM endpoint, data directory)."""

    def __init__(self, settings: Settings, *, sandbox: bool = True) -> None:
        self.settings = settings
        self.sandbox = sandbox
        self._planners: dict[str, Planner] = {}
        self._catalogs: dict[str, Catalog] = {}
        self._lock = threading.Lock()

    def _planner(self, mode: str) -> Planner:
        # One planner per mode per worker: the OpenAI planner remembers whether
        # the endpoint needed the tool-calling fallback.
        with self._lock:
            if mode not in self._planners:
                self._planners[mode] = choose_planner(self.settings, mode)
            return self._planners[mode]

    def _catalog(self, products: str) -> Catalog:
        with self._lock:
            if products not in self._catalogs:
                self._catalogs[products] = load_catalog(Path(products))
            return self._catalogs[products]

    def store(self) -> DraftStore:
        return DraftStore.in_data_dir(self.settings.data_dir)

    @activity.defn(name=PLAN_ACTIVITY)
    def plan(self, data: PlanInput) -> PlanOutput:
        """One planner call (LLM or offline); Temporal retries transient failures."""
        try:
            return plan_attempt(
                self._planner(data.planner),
                data,
                self._catalog(data.products),
                activity_attempt=activity.info().attempt,
            )
        except AtcError as exc:
            raise to_application_error(exc) from None

    @activity.defn(name=VALIDATE_ACTIVITY)
    def validate(self, data: ValidateInput) -> ValidateOutput:
        """Rules, render, sandbox load and the dry run (isolated children); heartbeats."""
        activity.heartbeat("validating")
        token = isolation.on_wait.set(lambda: activity.heartbeat("child running"))
        try:
            return validate_attempt(data, self._catalog(data.products), sandbox=self.sandbox)
        except AtcError as exc:
            raise to_application_error(exc) from None
        finally:
            isolation.on_wait.reset(token)

    @activity.defn(name=STORE_ACTIVITY)
    def store_draft(self, data: StoreInput) -> str:
        """Write the run as draft ``data.draft_id`` (version 1); a repeat is a no-op."""
        try:
            store = self.store()
            draft_id = store.store_run(
                data.record, data.products, data.actor, draft_id=data.draft_id
            )
            if data.review_workflow_id:
                store.set_review_workflow(draft_id, data.review_workflow_id)
        except AtcError as exc:
            raise to_application_error(exc) from None
        failpoints.hit("store.after_commit")
        return draft_id

    @activity.defn(name=REVIEW_STATE_ACTIVITY)
    def load_review_state(self, draft_id: str) -> VersionState:
        """The draft's latest version, its hashes and the draft's status.

        The first load claims the draft for this review workflow: from then on
        it is the one writer of the draft's decisions.
        """
        try:
            store = self.store()
            owner = store.get(draft_id).get("review_workflow_id")
            if not owner:
                store.set_review_workflow(draft_id, activity.info().workflow_id)
            return store.state(draft_id)
        except AtcError as exc:
            raise to_application_error(exc) from None

    @activity.defn(name=RECORD_DECISION_ACTIVITY)
    def record_decision(self, data: RecordInput) -> VersionState:
        """Write a decision as the review workflow (the one writer); idempotent by decision id."""
        store = self.store()
        try:
            store.decide(data.draft_id, data.decision, writer=activity.info().workflow_id)
            state = store.state(data.draft_id)
        except AtcError as exc:
            raise to_application_error(exc) from None
        failpoints.hit("decision.after_commit")
        return state

    def all(self) -> list[Any]:
        """Every activity, for ``Worker(activities=...)``."""
        return [
            self.plan,
            self.validate,
            self.store_draft,
            self.load_review_state,
            self.record_decision,
        ]
