"""The drafting pipeline: plan, validate, dry-run, repair; never silently fix.

``draft_workflow`` asks the planner for a spec, runs the rules (spec, then
render and code), then the dry run. When something fails and the planner
can repair (an LLM), the findings go back to it, at most
``repair_attempts`` times (default 2, ``ATC_REPAIR_ATTEMPTS``). A draft
that still fails comes back with ``valid = False`` and its findings, for
the store to keep as rejected. Attempts, token usage and time per stage are
recorded.

Transient LLM failures (429 with ``Retry-After``, 5xx, timeouts) are
retried here, with the server's delay, a few times: the OpenAI SDK's own
retries are off so that retries have one owner (Temporal, when planning
runs in an activity; this loop, when it runs in the CLI).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.drafting.dryrun import DryRunReport, dry_run
from copilot.drafting.planner import Planner, PlanRequest, PlanResult
from copilot.drafting.spec import WorkflowSpec
from copilot.drafting.validate import Validation, validate_document
from copilot.errors import LLMError, LLMUnavailable
from copilot.rules import Finding
from copilot.scopes.catalog import Catalog

LLM_RETRIES = 3
MAX_RETRY_DELAY_S = 60.0


@dataclass
class DraftResult:
    """Everything about one drafting run."""

    request: str
    scopes: tuple[str, ...]
    valid: bool
    planner: str
    model: str | None
    rules_ok: bool = False
    spec: WorkflowSpec | None = None
    answer: Any = None
    code: str | None = None
    findings: list[Finding] = field(default_factory=list)
    dry_run: DryRunReport | None = None
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_hash: str | None = None
    model_hash: str | None = None
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    def operations(self, catalog: Catalog) -> list[dict[str, Any]]:
        """Every call of the spec: step, operation, method and full path template."""
        out = []
        for step in self.spec.operation_steps() if self.spec else []:
            op = catalog.get_operation(step.operation)
            out.append(
                {
                    "step": step.id,
                    "operation": step.operation,
                    "method": op.method if op else None,
                    "path_template": op.full_template if op else None,
                    "scopes": list(op.scopes) if op else [],
                }
            )
        return out

    def llm(self) -> dict[str, Any]:
        return {
            "planner": self.planner,
            "model": self.model,
            "attempts": self.attempts,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


def model_hash(planner: Planner) -> str:
    """SHA-256 of the planner's identity (kind, endpoint and model name)."""
    identity = getattr(planner, "identity", None) or f"{planner.name}|{planner.model or ''}"
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def plan_with_retries(
    planner: Planner,
    request: PlanRequest,
    *,
    retries: int = LLM_RETRIES,
    sleep: Callable[[float], None] = time.sleep,
) -> PlanResult:
    """``planner.plan`` with bounded retries of transient failures (the server's delay first)."""
    for attempt in range(retries + 1):
        try:
            return planner.plan(request)
        except LLMUnavailable as exc:
            if attempt >= retries:
                raise LLMError(f"{exc.message} (gave up after {retries + 1} tries)") from None
            delay = exc.retry_after if exc.retry_after is not None else 2.0**attempt
            sleep(min(max(delay, 0.0), MAX_RETRY_DELAY_S))
    raise AssertionError("unreachable")  # pragma: no cover


def _dry_run_findings(report: DryRunReport) -> list[Finding]:
    return [
        Finding(
            "WF201",
            "error",
            f"{line}; fix: make every path finish (check parameters, references and timeouts "
            "against the dry-run trace)",
        )
        for line in report.failures()
    ]


def check_answer(
    answer: Any,
    parse_error: str | None,
    *,
    catalog: Catalog,
    scopes: tuple[str, ...],
    products: str | Path,
    run_dry_run: bool = True,
    sandbox: bool = True,
) -> tuple[Validation, DryRunReport | None, list[Finding]]:
    """One attempt's checks: the rules, then (only if they pass) the dry run.

    Shared by the in-process loop below and the Temporal ``validate`` activity.
    """
    validation = validate_document(
        answer, catalog, tuple(scopes), sandbox=sandbox, parse_error=parse_error
    )
    findings = list(validation.findings)
    report = None
    if validation.ok and run_dry_run and validation.code is not None:
        report = dry_run(validation.code, validation.spec, products=products, scopes=scopes)
        findings += _dry_run_findings(report)
    return validation, report, findings


def draft_workflow(
    request: str,
    *,
    catalog: Catalog,
    scopes: tuple[str, ...],
    planner: Planner,
    products: str | Path,
    repair_attempts: int = 2,
    context: list[dict[str, Any]] | None = None,
    run_dry_run: bool = True,
    sandbox: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> DraftResult:
    """Plan, validate and dry-run a draft, repairing up to ``repair_attempts`` times."""
    result = DraftResult(request, tuple(scopes), False, planner.name, planner.model)
    result.model_hash = model_hash(planner)
    feedback: list[Finding] = []
    previous: str | None = None
    for attempt in range(1, repair_attempts + 2):
        started = time.perf_counter()
        plan = plan_with_retries(
            planner,
            PlanRequest(request, catalog, tuple(scopes), context or [], feedback, previous),
            sleep=sleep,
        )
        planning = time.perf_counter() - started
        result.attempts = attempt
        result.prompt_tokens += plan.prompt_tokens
        result.completion_tokens += plan.completion_tokens
        result.prompt_hash = result.prompt_hash or plan.prompt_hash
        result.notes = list(dict.fromkeys([*result.notes, *plan.notes]))
        answer = plan.answer if plan.answer is not None else plan.raw
        validation, report, findings = check_answer(
            answer,
            plan.parse_error,
            catalog=catalog,
            scopes=tuple(scopes),
            products=products,
            run_dry_run=run_dry_run,
            sandbox=sandbox,
        )
        result.spec, result.code, result.answer = validation.spec, validation.code, answer
        result.findings, result.dry_run = findings, report
        result.seconds = {
            "planning": round(planning, 4),
            "validation": round(
                validation.seconds.get("total", sum(validation.seconds.values())), 4
            ),
            "dry_run": report.duration_s if report else 0.0,
        }
        result.history.append(
            {
                "attempt": attempt,
                "errors": [f.to_dict() for f in findings if f.is_error],
                "prompt_tokens": plan.prompt_tokens,
                "completion_tokens": plan.completion_tokens,
                "seconds": dict(result.seconds),
            }
        )
        result.rules_ok = not [f for f in findings if f.is_error]
        # Valid means: every rule passed AND the dry run completed (issue 5).
        result.valid = result.rules_ok and report is not None and report.ok
        done = result.valid or (result.rules_ok and not run_dry_run)
        if done or not planner.repairable:
            break
        feedback = [f for f in findings if f.is_error]
        previous = plan.raw if plan.raw is not None else json.dumps(plan.answer)
    if result.rules_ok and not run_dry_run:
        result.notes.append(
            "dry run skipped: the rules pass, but a draft is valid only once it ran"
        )
    return result
