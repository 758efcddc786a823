"""What every validation rule shares: the rule record, its findings, the context it reads."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from copilot.drafting.spec import WorkflowSpec
from copilot.scopes.catalog import Catalog

Severity = Literal["error", "warning"]
Stage = Literal["spec", "code", "dryrun"]


@dataclass(frozen=True)
class Finding:
    """One thing a rule found: what is wrong and how to fix it, and where."""

    rule_id: str
    severity: Severity
    message: str
    where: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity,
            "message": self.message,
            "where": self.where,
        }

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


@dataclass
class RuleContext:
    """Everything a rule may look at. Spec rules read ``spec``/``doc``; code rules
    read ``code``/``tree`` (``limit_error`` says why code too large or too deep was
    not parsed); ``prior`` holds the findings of rules that ran before; ``request`` is
    the request in words, when known."""

    catalog: Catalog
    scopes: tuple[str, ...]
    doc: Any = None
    spec: WorkflowSpec | None = None
    parse_error: str | None = None
    schema_errors: list[dict[str, Any]] = field(default_factory=list)
    code: str | None = None
    tree: ast.Module | None = None
    syntax_error: SyntaxError | None = None
    limit_error: str | None = None
    filename: str = "workflow.py"
    sandbox: bool = True
    prior: list[Finding] = field(default_factory=list)
    # The request in words the spec was drafted for (WF011 checks the spec does all of it).
    request: str | None = None

    def errors_from(self, *rule_ids: str) -> bool:
        """Whether an earlier rule (any of ``rule_ids``; all when empty) found an error."""
        return any(f.is_error and (not rule_ids or f.rule_id in rule_ids) for f in self.prior)


@dataclass(frozen=True)
class Rule:
    """A validation rule: an id like ``WF003``, a short name, its stages and default severity."""

    id: str
    name: str
    severity: Severity
    stages: tuple[Stage, ...]
    summary: str
    check: Callable[[RuleContext], Iterable[Finding]] | None = None
    # Runs before ``check``: a problem it names (code too large or too deep to
    # read) is the rule's one finding, and ``check`` does not run.
    limit: Callable[[RuleContext], str | None] | None = None

    def finding(self, message: str, where: str = "", severity: Severity | None = None) -> Finding:
        return Finding(self.id, severity or self.severity, message, where)

    def run(self, ctx: RuleContext) -> list[Finding]:
        """The rule's findings; input too deep or too large to check is a finding, not a crash."""
        if self.check is None:
            return []
        try:
            problem = self.limit(ctx) if self.limit is not None else None
            if problem is not None:
                return [self.finding(problem)]
            return list(self.check(ctx))
        except (RecursionError, MemoryError) as exc:
            # Failing closed: what a rule could not check is an error, never a pass.
            return [
                self.finding(
                    f"{self.id} could not check this input ({type(exc).__name__}: it is nested "
                    "too deeply or too large); fix: keep the spec and code to what atc renders"
                )
            ]
