"""WF007 secrets: no credentials in inputs, values or code literals.

Workflows carry key *references* (docs/architecture.md, 'Secrets never in payloads');
the gateway activity mints a short-lived token itself. A secret in a spec would land in
workflow history in clear.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from copilot.rules.base import Finding, Rule, RuleContext

SECRET_NAME = re.compile(
    r"(passw(or)?d|passphrase|secret|token|api[_-]?key|apikey|private[_-]?key|credential|"
    r"authorization|bearer|session[_-]?id|cookie)",
    re.IGNORECASE,
)
SECRET_VALUE = re.compile(
    r"(eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.|"  # a JWT
    r"\bBearer\s+[A-Za-z0-9._~+/\-]{12,}|"
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|"
    r"\bAKIA[0-9A-Z]{16}\b|"  # AWS access key id
    r"\bsk-[A-Za-z0-9_\-]{16,}|"  # OpenAI-style keys
    r"\bgh[pousr]_[A-Za-z0-9]{30,}|"  # GitHub tokens
    r"\bxox[abpr]-[A-Za-z0-9\-]{10,}|"  # Slack tokens
    r"\bAIza[0-9A-Za-z_\-]{35})"  # Google API keys
)
_FIX = (
    "fix: remove it; credentials never travel in a workflow: the gateway activity "
    "signs each call with a short-lived token from a key reference"
)


def _strings(value: object, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{where}[{i}]")


def check(ctx: RuleContext) -> Iterator[Finding]:
    f = RULE.finding
    if ctx.tree is None and ctx.spec is not None:
        for field in ctx.spec.inputs:
            if SECRET_NAME.search(field.name):
                yield f(
                    f"input {field.name} looks like a credential; {_FIX}", f"inputs.{field.name}"
                )
        for step in ctx.spec.operation_steps():
            for group in ("params", "query", "body"):
                for value in getattr(step, group, []):
                    if SECRET_NAME.search(value.name):
                        yield f(
                            f"step {step.id} sends {group} field {value.name!r}, which looks "
                            f"like a credential; {_FIX}",
                            f"steps.{step.id}.{group}",
                        )
        for where, text in _strings(ctx.spec.model_dump(), "spec"):
            if SECRET_VALUE.search(text):
                yield f(f"{where} holds what looks like a secret or token; {_FIX}", where)
    if ctx.tree is not None:
        for node in ast.walk(ctx.tree):
            is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if is_text and SECRET_VALUE.search(node.value):
                yield f(
                    f"line {node.lineno}: a string literal looks like a secret or token; {_FIX}",
                    f"line {node.lineno}",
                )


RULE = Rule(
    id="WF007",
    name="secrets",
    severity="error",
    stages=("spec", "code"),
    summary="No secrets or tokens in inputs, values or code literals; keys travel by reference.",
    check=check,
)
