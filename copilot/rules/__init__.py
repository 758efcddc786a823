"""Validation rules for workflow drafts, one rule per file (like apigeelint's plugins).

Each module ``wfNNN_<name>.py`` defines ``RULE``, a :class:`Rule` with an id,
a severity, a stage and a check that yields :class:`Finding` s saying what is
wrong and how to fix it. Stages run in order: ``spec`` rules on the
WorkflowSpec (nothing is rendered while one of them reports an error),
``code`` rules on the rendered or human-edited module (AST allow-list, scope
of every call, timeouts, compile, then loading in a separate process under
the Temporal workflow sandbox), and ``dryrun`` (the time-skipping test server).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache

from copilot.rules.base import Finding, Rule, RuleContext, Severity, Stage

_RULE_MODULE = re.compile(r"^wf\d{3}_[a-z0-9_]+$")

__all__ = [
    "Finding",
    "Rule",
    "RuleContext",
    "Severity",
    "Stage",
    "all_rules",
    "get_rule",
    "run_stage",
]


@cache
def all_rules() -> tuple[Rule, ...]:
    """Every rule, sorted by id."""
    rules = []
    for info in pkgutil.iter_modules(__path__):
        if _RULE_MODULE.match(info.name):
            rules.append(importlib.import_module(f"{__name__}.{info.name}").RULE)
    return tuple(sorted(rules, key=lambda r: r.id))


def get_rule(rule_id: str) -> Rule:
    return next(r for r in all_rules() if r.id == rule_id)


def run_stage(stage: Stage, ctx: RuleContext) -> list[Finding]:
    """Run every rule of ``stage`` in id order; each sees the findings before it."""
    found: list[Finding] = []
    for rule in all_rules():
        if stage in rule.stages:
            new = rule.run(ctx)
            found += new
            ctx.prior.extend(new)
    return found
