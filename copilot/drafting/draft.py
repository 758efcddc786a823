"""The drafting pipeline: plan, validate, dry-run, repair; never silently fix.

``run_attempts`` (``draft_workflow`` with keywords) runs the attempt loop
of :mod:`copilot.drafting.record` in-process: the planner proposes a spec,
``validate_attempt`` runs the rules (spec, then render and code), then the
dry run. When something fails and the
planner can repair (an LLM), the findings go back to it, at most
``repair_attempts`` times (default 2, ``ATC_REPAIR_ATTEMPTS``). A draft that
still fails comes back with ``valid = False`` and its findings, for the store
to keep as rejected. The Temporal workflow runs the same loop with
``plan_attempt`` and ``validate_attempt`` as its activities.

Transient LLM failures (429 with ``Retry-After``, 5xx, timeouts) are retried
here, with the server's delay, a few times: the OpenAI SDK's own retries are
off so that retries have one owner (Temporal, when planning runs in an
activity; this loop, when it runs in the CLI).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from typing import Any

from copilot.drafting.dryrun import dry_run
from copilot.drafting.planner import Planner
from copilot.drafting.record import (
    AttemptLoop,
    DraftInput,
    DraftRecord,
    PlanInput,
    PlanOutput,
    ValidateInput,
    ValidateOutput,
)
from copilot.drafting.validate import validate_document
from copilot.errors import LLMError, LLMUnavailable
from copilot.rules import Finding
from copilot.scopes.catalog import Catalog

LLM_RETRIES = 3
MAX_RETRY_DELAY_S = 60.0


def model_hash(planner: Planner) -> str:
    """SHA-256 of the planner's identity (kind, endpoint and model name)."""
    identity = getattr(planner, "identity", None) or f"{planner.name}|{planner.model or ''}"
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def plan_attempt(
    planner: Planner, data: PlanInput, catalog: Catalog, *, activity_attempt: int = 1
) -> PlanOutput:
    """One planner call as the loop records it (raises the planner's atc errors)."""
    started = time.perf_counter()
    answer = planner.plan(data, catalog)
    return dataclasses.replace(
        answer,
        repairable=bool(planner.repairable),
        model_hash=model_hash(planner),
        notes=list(answer.notes),
        activity_attempt=activity_attempt,
        seconds=round(time.perf_counter() - started, 4),
    )


def plan_with_retries(
    planner: Planner,
    data: PlanInput,
    catalog: Catalog,
    *,
    retries: int = LLM_RETRIES,
    sleep: Callable[[float], None] = time.sleep,
) -> PlanOutput:
    """``plan_attempt`` with bounded retries of transient failures (the server's delay first)."""
    for attempt in range(retries + 1):
        try:
            return plan_attempt(planner, data, catalog, activity_attempt=attempt + 1)
        except LLMUnavailable as exc:
            if attempt >= retries:
                raise LLMError(f"{exc.message} (gave up after {retries + 1} tries)") from None
            delay = exc.retry_after if exc.retry_after is not None else 2.0**attempt
            sleep(min(max(delay, 0.0), MAX_RETRY_DELAY_S))
    raise AssertionError("unreachable")  # pragma: no cover


def validate_attempt(
    data: ValidateInput, catalog: Catalog, *, sandbox: bool = True
) -> ValidateOutput:
    """One attempt's checks: the rules, then (only if they pass) the dry run."""
    validation = validate_document(
        data.answer,
        catalog,
        tuple(data.scopes),
        sandbox=sandbox,
        parse_error=data.parse_error,
        request=data.request or None,
    )
    findings = list(validation.findings)
    report = None
    if validation.ok and data.run_dry_run and validation.code is not None:
        report = dry_run(
            validation.code, validation.spec, products=data.products, scopes=data.scopes
        )
        findings += [
            Finding(
                "WF201",
                "error",
                f"{line}; fix: make every path finish (check parameters, references and "
                "timeouts against the dry-run trace)",
            )
            for line in report.failures()
        ]
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


def run_attempts(
    data: DraftInput,
    catalog: Catalog,
    planner: Planner,
    *,
    sandbox: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> DraftRecord:
    """The attempt loop in-process: the same loop ``DraftRequestWorkflow`` runs in activities."""
    loop = AttemptLoop.of(data)
    while (plan_input := loop.next_plan()) is not None:
        plan = plan_with_retries(planner, plan_input, catalog, sleep=sleep)
        loop.fold(plan, validate_attempt(loop.validate_input(plan), catalog, sandbox=sandbox))
    record = loop.finish()
    record.model_hash = record.model_hash or model_hash(planner)
    return record


def draft_workflow(
    request: str,
    *,
    catalog: Catalog,
    scopes: tuple[str, ...] | list[str],
    planner: Planner,
    products: str | Any,
    repair_attempts: int = 2,
    context: list[dict[str, Any]] | None = None,
    run_dry_run: bool = True,
    sandbox: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> DraftRecord:
    """Plan, validate and dry-run a draft in-process, repairing up to ``repair_attempts`` times."""
    data = DraftInput(
        request,
        list(scopes),
        str(products),
        repair_attempts=repair_attempts,
        context=list(context or []),
        run_dry_run=run_dry_run,
    )
    return run_attempts(data, catalog, planner, sandbox=sandbox, sleep=sleep)
