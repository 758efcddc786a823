"""What a caller may hand a workflow: JSON that fits the declared schema, and no secrets.

Secrets travel as references (``env:NAME``, ``file:PATH``, a vault path), never
as values in payloads, because payloads live in workflow history for its whole
retention (docs/security.md). So any string that *looks like* a credential is
refused, with the JSON path and the kind of secret, never the value:
bearer tokens, JWTs, PEM private keys, AWS, Google and Stripe-like API keys,
GitHub and Slack tokens, and credential-named fields holding a literal value.

Schemas: a drafted workflow type (``atc-draft.<name>.v<N>.<hash12>``) is checked
against its approved spec's inputs, from the draft store; any other type
against the JSON schema ``[bridge.schemas]`` or its route's ``input_schema``
names, when one does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from copilot.errors import InputError

_PATTERNS = (
    ("a bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{8,}=*")),
    ("a JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")),
    ("a PEM private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("a Google OAuth token", re.compile(r"\bya29\.[0-9A-Za-z_-]{20,}")),
    ("a Stripe-like secret key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}\b")),
    (
        "a GitHub token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})"),
    ),
    ("a Slack token", re.compile(r"\bxox[abprs]-[0-9A-Za-z-]{10,}")),
)
# Fields whose name says credential may hold a reference, never a literal value.
_CREDENTIAL_NAMES = re.compile(
    r"(?i)^(password|passwd|secret|client_secret|api_?key|access_?token|refresh_?token|"
    r"private_?key|authorization|bearer)$"
)
_REFERENCE = re.compile(r"^(env|file|kid|vault|secret|gsm|awssm|ref):[^\s]{1,300}$")
MAX_DEPTH = 32


def _leaves(value: Any, path: str, key: str | None = None, depth: int = 0) -> Iterator[tuple]:
    """(JSON path, the field name holding it or None, the value) for every scalar and key."""
    if depth > MAX_DEPTH:
        raise InputError(f"the input nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for name, item in value.items():
            yield f"{path} (a field name)", None, str(name)
            yield from _leaves(item, f"{path}.{name}", str(name), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]", None, depth + 1)
    else:
        yield path, key, value


def secret_problem(value: Any) -> str | None:
    """Why ``value`` (parsed JSON) may not travel as a workflow input, or None."""
    for path, key, item in _leaves(value, "$"):
        if not isinstance(item, str):
            continue
        for kind, pattern in _PATTERNS:
            if pattern.search(item):
                return (
                    f"{path} holds what looks like {kind}; pass a reference (env:NAME, vault path)"
                )
        if key and _CREDENTIAL_NAMES.match(key) and item and not _REFERENCE.match(item):
            return f"{path} is a credential field holding a literal value; pass a reference"
    return None


def check_secrets(value: Any) -> None:
    """InputError (422 at the bridge) when ``value`` holds something secret-shaped."""
    problem = secret_problem(value)
    if problem:
        raise InputError(problem)


@lru_cache(maxsize=64)
def _schema(path: str) -> Any:
    from jsonschema import Draft202012Validator

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(doc)
    except (OSError, ValueError) as exc:
        raise InputError(f"input schema {path} is not a usable JSON schema ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - jsonschema's SchemaError: a broken config
        raise InputError(f"input schema {path} is not a valid JSON schema ({exc})") from None
    return Draft202012Validator(doc)


def check_schema(value: Any, schema_path: Path) -> None:
    """InputError naming the first place ``value`` breaks the JSON schema."""
    validator = _schema(str(schema_path))
    error = next(iter(sorted(validator.iter_errors(value), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
        raise InputError(f"input does not fit the schema at {where}: {error.message[:200]}")


def check_drafted(workflow_type: str, value: Any, data_dir: Path) -> tuple[Any, Any]:
    """For an ``atc-draft.*`` type: (checked inputs, the approved version); InputError otherwise.

    The type must name a version that is approved and still verifies; its spec's
    typed inputs decide what is accepted (the same check as ``atc run``).
    """
    from copilot.drafting.store import DraftStore
    from copilot.runs.approved import servable_versions
    from copilot.runs.inputs import check_inputs

    versions, _ = servable_versions(DraftStore.in_data_dir(data_dir))
    found = next((v for v in versions if v.workflow_type == workflow_type), None)
    if found is None:
        raise LookupError(f"{workflow_type} is not an approved drafted workflow version")
    if not isinstance(value, dict):
        raise InputError("a drafted workflow's input is a JSON object of its inputs")
    return check_inputs(found.spec, value), found
