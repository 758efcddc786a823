"""Validation of drafts: spec rules, rendering, code rules (timed).

``validate_document`` is what the drafting pipeline runs on a planner's
answer: the spec rules; then, only if none reported an error, the trusted
renderer and the code rules (the code is the renderer's output, AST
allow-list, code scope and timeouts, compile, sandbox load in a child
process). ``validate_code`` runs the code rules alone. Nothing here runs the
dry run, and nothing here raises on hostile input: an answer or a module too
large or nested too deeply is a finding.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from copilot.drafting.render import render
from copilot.drafting.spec import WorkflowSpec
from copilot.errors import SpecError
from copilot.rules import Finding, RuleContext, run_stage
from copilot.rules._ast_limits import prepare
from copilot.scopes.catalog import Catalog

# A spec is a few kilobytes and six levels deep; far larger or deeper is not a spec,
# and decoding or reporting on it would recurse or take memory in proportion.
MAX_ANSWER_BYTES = 1_000_000
MAX_JSON_DEPTH = 64


@dataclass
class Validation:
    """Findings of every rule that ran, the spec and code they ran on, and timings."""

    findings: list[Finding] = field(default_factory=list)
    spec: WorkflowSpec | None = None
    code: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors


def decode(answer: str | bytes | dict | None) -> tuple[Any, str | None]:
    """A planner's answer -> (document, parse error); too large or too deep is an error."""
    if answer is None:
        return None, "the answer was empty"
    if not isinstance(answer, dict):
        if len(answer) > MAX_ANSWER_BYTES:
            return None, f"the answer is larger than {MAX_ANSWER_BYTES} bytes ({len(answer)})"
        try:
            answer = json.loads(answer)
        except (ValueError, UnicodeDecodeError) as exc:
            return None, f"{type(exc).__name__}: {exc}"[:200]
        except (RecursionError, MemoryError):
            return None, f"the answer is nested deeper than {MAX_JSON_DEPTH} levels"
    if _deeper_than(answer, MAX_JSON_DEPTH):
        return None, f"the answer is nested deeper than {MAX_JSON_DEPTH} levels"
    return answer, None


def _deeper_than(doc: Any, limit: int) -> bool:
    """Whether a decoded document nests lists and objects more than ``limit`` deep (no recursion)."""
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list, tuple)):
            if depth > limit:
                return True
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return False


def spec_context(
    doc: Any,
    catalog: Catalog,
    scopes: tuple[str, ...],
    parse_error: str | None = None,
    request: str | None = None,
) -> RuleContext:
    """The rule context for a decoded document (schema errors captured, not raised)."""
    ctx = RuleContext(
        catalog=catalog, scopes=scopes, doc=doc, parse_error=parse_error, request=request
    )
    if parse_error is None:
        try:
            ctx.spec = WorkflowSpec.model_validate(doc)
        except ValidationError as exc:
            ctx.schema_errors = exc.errors(include_url=False)
    return ctx


def code_context(
    code: str,
    catalog: Catalog,
    scopes: tuple[str, ...],
    *,
    spec: WorkflowSpec | None = None,
    sandbox: bool = True,
) -> RuleContext:
    """The rule context for ``code``: parsed within bounds (problems recorded, not raised)."""
    ctx = RuleContext(catalog=catalog, scopes=scopes, spec=spec, code=code, sandbox=sandbox)
    prepare(ctx)
    return ctx


def validate_code(
    code: str,
    catalog: Catalog,
    scopes: tuple[str, ...],
    *,
    spec: WorkflowSpec | None = None,
    sandbox: bool = True,
) -> list[Finding]:
    """The code rules on ``code``; it must be what the renderer makes of ``spec`` (WF100).

    The code is loaded only in a child process, and only when WF100, WF101 and
    WF104 found nothing.
    """
    return run_stage("code", code_context(code, catalog, scopes, spec=spec, sandbox=sandbox))


def validate_document(
    answer: str | bytes | dict | None,
    catalog: Catalog,
    scopes: tuple[str, ...],
    *,
    sandbox: bool = True,
    parse_error: str | None = None,
    request: str | None = None,
) -> Validation:
    """Spec rules, then (if they pass) render and the code rules. Timed per stage.

    ``request``, the request in words, lets WF011 check that every clause has a step.
    """
    started = time.perf_counter()
    doc, error = decode(answer) if parse_error is None else (None, parse_error)
    ctx = spec_context(doc, catalog, scopes, error, request)
    out = Validation(findings=run_stage("spec", ctx), spec=ctx.spec)
    out.seconds["spec_rules"] = time.perf_counter() - started
    if out.errors or ctx.spec is None:
        return out
    mark = time.perf_counter()
    try:
        out.code = render(ctx.spec, scopes)
    except SpecError as exc:  # the rules should have caught it; never render around it
        out.findings.append(
            Finding("WF001", "error", f"the renderer refused the spec: {exc.message}")
        )
        return out
    out.seconds["render"] = time.perf_counter() - mark
    mark = time.perf_counter()
    out.findings += validate_code(out.code, catalog, scopes, spec=ctx.spec, sandbox=sandbox)
    out.seconds["code_rules"] = time.perf_counter() - mark
    out.seconds["total"] = time.perf_counter() - started
    return out
