"""The drafting and review activities: every LLM call and all I/O happen here.

Synchronous activities (the planner, the dry-run harness and SQLite are
blocking), so the worker runs them on a thread pool. Errors become
``ApplicationError``s whose retryability Temporal acts on: a transient LLM
failure (429, 5xx, timeout) is retryable after the server's ``Retry-After``
(``next_retry_delay``); any other LLM failure, bad input or a policy refusal
is non-retryable. The OpenAI client's own retries stay off
(``OpenAIPlanner`` sets ``max_retries=0``), so Temporal is the one owner of
retries.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from copilot.config import Settings
from copilot.drafting.draft import check_answer, model_hash
from copilot.drafting.planner import Planner, PlanRequest, choose_planner
from copilot.drafting.store import DraftStore, NewVersion
from copilot.errors import AtcError, InputError, LLMError, LLMUnavailable, PolicyDenied
from copilot.rules import Finding
from copilot.scopes import Catalog, load_catalog
from workflows.drafting.shared import (
    INPUT_ERROR,
    LLM_ERROR,
    LLM_UNAVAILABLE,
    PLAN_ACTIVITY,
    POLICY_DENIED,
    RECORD_DECISION_ACTIVITY,
    REVIEW_STATE_ACTIVITY,
    STORE_ACTIVITY,
    VALIDATE_ACTIVITY,
    PlanInput,
    PlanOutput,
    RecordInput,
    StoreInput,
    ValidateInput,
    ValidateOutput,
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
        started = time.perf_counter()
        try:
            planner = self._planner(data.planner)
            request = PlanRequest(
                data.request,
                self._catalog(data.products),
                tuple(data.scopes),
                list(data.context),
                [
                    Finding(f["rule_id"], f["severity"], f["message"], f.get("where", ""))
                    for f in data.feedback
                ],  # fmt: skip
                data.previous_answer,
            )
            result = planner.plan(request)
        except AtcError as exc:
            raise to_application_error(exc) from None
        return PlanOutput(
            answer=result.answer,
            raw=result.raw,
            parse_error=result.parse_error,
            planner=result.planner,
            model=result.model,
            repairable=bool(planner.repairable),
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            prompt_hash=result.prompt_hash,
            model_hash=model_hash(planner),
            notes=list(result.notes),
            activity_attempt=activity.info().attempt,
            seconds=round(time.perf_counter() - started, 4),
        )

    @activity.defn(name=VALIDATE_ACTIVITY)
    def validate(self, data: ValidateInput) -> ValidateOutput:
        """Rules, render, sandbox load (child process) and the dry run (child process)."""
        try:
            validation, report, findings = check_answer(
                data.answer,
                data.parse_error,
                catalog=self._catalog(data.products),
                scopes=tuple(data.scopes),
                products=data.products,
                run_dry_run=data.run_dry_run,
                sandbox=self.sandbox,
            )
        except AtcError as exc:
            raise to_application_error(exc) from None
        rules_ok = not [f for f in findings if f.is_error]
        seconds = validation.seconds
        return ValidateOutput(
            rules_ok=rules_ok,
            valid=rules_ok and report is not None and report.ok,
            findings=[f.to_dict() for f in findings],
            spec_json=validation.spec.to_json() if validation.spec is not None else None,
            code=validation.code,
            dry_run=report.to_dict() if report is not None else None,
            seconds={
                "validation": round(seconds.get("total", sum(seconds.values())), 4),
                "dry_run": report.duration_s if report else 0.0,
            },
        )

    @activity.defn(name=STORE_ACTIVITY)
    def store_draft(self, data: StoreInput) -> str:
        """Write the run as a new draft (version 1); returns the draft id."""
        o = data.outcome
        spec_text = o.spec_json
        if spec_text is None and o.answer is not None:
            import json

            spec_text = o.answer if isinstance(o.answer, str) else json.dumps(o.answer, indent=2)
        version = NewVersion(
            spec_json=spec_text,
            code=o.code,
            findings=o.findings,
            valid=o.valid,
            dry_run=o.dry_run,
            planner=o.planner,
            model=o.model,
            model_hash=o.model_hash,
            prompt_hash=o.prompt_hash,
            attempts=o.attempts,
            prompt_tokens=o.prompt_tokens,
            completion_tokens=o.completion_tokens,
            notes=o.notes,
        )
        try:
            return self.store().create(
                o.request, list(o.scopes), data.products, version, data.actor
            )
        except AtcError as exc:
            raise to_application_error(exc) from None

    @activity.defn(name=REVIEW_STATE_ACTIVITY)
    def load_review_state(self, draft_id: str) -> VersionState:
        """The draft's latest version, its validity and the draft's status."""
        try:
            store = self.store()
            draft = store.get(draft_id)
            latest = store.version(draft_id)
        except AtcError as exc:
            raise to_application_error(exc) from None
        return VersionState(latest["version"], bool(latest["valid"]), draft["status"])

    @activity.defn(name=RECORD_DECISION_ACTIVITY)
    def record_decision(self, data: RecordInput) -> str:
        """Record a decision in the store's audit trail; returns the draft's status."""
        d = data.decision
        store = self.store()
        try:
            if d.action == "approve":
                return str(store.approve(data.draft_id, d.reviewer, d.comment)["status"])
            if d.action == "reject":
                return str(store.reject(data.draft_id, d.reviewer, d.comment)["status"])
            store.comment(data.draft_id, d.reviewer, d.comment)
            return str(store.get(data.draft_id)["status"])
        except AtcError as exc:
            raise to_application_error(exc) from None

    def all(self) -> list[Any]:
        """Every activity, for ``Worker(activities=...)``."""
        return [
            self.plan,
            self.validate,
            self.store_draft,
            self.load_review_state,
            self.record_decision,
        ]
