"""The one record of a drafting run, and the one attempt loop that fills it.

Both ways of drafting use these: in-process (``copilot.drafting.draft``) and
as a Temporal workflow (``workflows.authoring.workflows``). Everything here is
plain data and pure logic, deterministic and free of I/O, so the workflow
can run the same loop the CLI runs: the loop says what to plan next, the
caller plans and validates (directly, or in activities), and the loop folds
each attempt into the record.

Every type is a JSON-serialisable dataclass: it crosses Temporal's payload
converter unchanged, and the store writes a version from a ``DraftRecord``
with one mapping (``copilot.drafting.store.NewVersion.from_record``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# A stored draft's review waits this long for a decision before it expires.
DEFAULT_REVIEW_TIMEOUT_S = 7 * 24 * 3600.0


@dataclass
class DraftInput:
    """What to draft, resolved once (:func:`copilot.drafting.job.draft_input`) for both paths.

    The in-process driver reads the attempt fields; ``DraftRequestWorkflow``
    takes the whole record as its input and also the Temporal-only bounds.
    """

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
    # Whether atc's search attributes are registered in the namespace.
    search_attributes: bool = False


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
    """A planner's answer and its cost; ``activity_attempt`` is Temporal's attempt number.

    A planner fills the answer and its cost; ``plan_attempt`` adds what the loop
    knows (``repairable``, ``model_hash``, ``activity_attempt``, ``seconds``).
    """

    answer: dict[str, Any] | None
    raw: str | None = None
    parse_error: str | None = None
    planner: str = ""
    model: str | None = None
    repairable: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_hash: str | None = None
    model_hash: str | None = None
    notes: list[str] = field(default_factory=list)
    activity_attempt: int = 1
    seconds: float = 0.0

    @property
    def document(self) -> Any:
        """What to validate: the parsed answer, else the raw text."""
        return self.answer if self.answer is not None else self.raw


@dataclass
class ValidateInput:
    """One attempt's answer to check (rules, render, sandbox load, dry run)."""

    answer: Any
    parse_error: str | None
    scopes: list[str]
    products: str
    run_dry_run: bool = True
    request: str = ""  # the request in words: rule WF011 checks the spec does all of it


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
class DraftRecord:
    """Everything about one drafting run (or one human spec edit)."""

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

    @property
    def errors(self) -> list[dict[str, str]]:
        return [f for f in self.findings if f.get("severity") == "error"]

    def spec_text(self) -> str | None:
        """The spec as stored and written: canonical JSON when it parsed, else the raw answer."""
        if self.spec_json is not None:
            return self.spec_json
        if isinstance(self.answer, dict):
            return json.dumps(self.answer, indent=2) + "\n"
        return self.answer if isinstance(self.answer, str) else None

    def llm(self) -> dict[str, Any]:
        return {
            "planner": self.planner,
            "model": self.model,
            "attempts": self.attempts,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


DRY_RUN_SKIPPED = "dry run skipped: the rules pass, but a draft is valid only once it ran"


@dataclass
class AttemptLoop:
    """Plan, validate, repair: at most ``repair_attempts`` re-asks with the findings.

    ``next_plan()`` gives the next planner call (None when done), ``fold()``
    records its outcome; ``finish()`` returns the record.
    """

    request: str
    scopes: list[str]
    products: str
    planner: str = "auto"
    context: list[dict[str, Any]] = field(default_factory=list)
    repair_attempts: int = 2
    run_dry_run: bool = True
    record: DraftRecord | None = None
    _feedback: list[dict[str, str]] = field(default_factory=list)
    _previous: str | None = None
    _done: bool = False

    def __post_init__(self) -> None:
        if self.record is None:
            self.record = DraftRecord(request=self.request, scopes=list(self.scopes))

    @classmethod
    def of(cls, data: DraftInput) -> AttemptLoop:
        """The loop for one drafting input (the same for both paths)."""
        return cls(
            data.request,
            list(data.scopes),
            data.products,
            data.planner,
            list(data.context),
            data.repair_attempts,
            data.run_dry_run,
        )

    def next_plan(self) -> PlanInput | None:
        """The next planner call, or None when the loop is finished."""
        assert self.record is not None
        if self._done or self.record.attempts >= max(0, self.repair_attempts) + 1:
            return None
        return PlanInput(
            self.request,
            list(self.scopes),
            self.products,
            self.planner,
            list(self.context),
            list(self._feedback),
            self._previous,
        )

    def validate_input(self, plan: PlanOutput) -> ValidateInput:
        """What to check for ``plan``'s answer."""
        return ValidateInput(
            plan.document,
            plan.parse_error,
            list(self.scopes),
            self.products,
            self.run_dry_run,
            self.request,
        )

    def fold(self, plan: PlanOutput, checked: ValidateOutput) -> None:
        """Record one attempt; decide whether another is worth asking for."""
        out = self.record
        assert out is not None
        out.attempts += 1
        out.planner, out.model = plan.planner, plan.model
        out.prompt_tokens += plan.prompt_tokens
        out.completion_tokens += plan.completion_tokens
        out.prompt_hash = out.prompt_hash or plan.prompt_hash
        out.model_hash = plan.model_hash
        out.notes = list(dict.fromkeys([*out.notes, *plan.notes]))
        out.plan_activity_attempts.append(plan.activity_attempt)
        out.answer, out.spec_json, out.code = plan.document, checked.spec_json, checked.code
        out.findings, out.dry_run = list(checked.findings), checked.dry_run
        out.rules_ok, out.valid = checked.rules_ok, checked.valid
        out.seconds = {"planning": plan.seconds, **checked.seconds}
        errors = [f for f in checked.findings if f.get("severity") == "error"]
        out.history.append(
            {
                "attempt": out.attempts,
                "errors": errors,
                "prompt_tokens": plan.prompt_tokens,
                "completion_tokens": plan.completion_tokens,
                "seconds": dict(out.seconds),
                "plan_activity_attempt": plan.activity_attempt,
            }
        )
        finished = checked.valid or (checked.rules_ok and not self.run_dry_run)
        self._done = finished or not plan.repairable
        self._feedback = errors
        self._previous = plan.raw if plan.raw is not None else json.dumps(plan.answer)

    def finish(self) -> DraftRecord:
        out = self.record
        assert out is not None
        if out.rules_ok and not self.run_dry_run and DRY_RUN_SKIPPED not in out.notes:
            out.notes.append(DRY_RUN_SKIPPED)
        return out
