"""Which draft versions may run, proved again from the store before anything runs.

A version runs only when it was approved and is still exactly what was
approved: its stored spec hashes to its ``spec_hash``, which equals the hash
the approval named (the draft's ``approved_spec_hash`` for the current
approval, the audit entry for an earlier one), and the code the trusted
renderer makes of that spec today hashes to the version's ``code_hash``
and equals the stored code. The code that runs is that re-rendered code,
never the stored text. A version stored before the runtime module was
renamed (its code imports ``workflows.drafts.shared``) is proved against
today's rendering written with the former name, and runs today's rendering.

Each approved version runs under its own workflow type and task queue,
``atc-draft.<name>.v<N>.<spec_hash[:12]>``, so approving a new version never
changes what running executions of an older one replay against. The
rendered module keeps its own ``@workflow.defn`` name (the renderer's output,
and so every stored code hash, stays unchanged); the runs worker registers
the loaded class under the version's type name instead.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from copilot.drafting.render import code_hash, former_renderings, render
from copilot.drafting.spec import WorkflowSpec, parse_spec
from copilot.drafting.store import DraftStore
from copilot.errors import PolicyDenied

TYPE_PREFIX = "atc-draft."


@dataclass(frozen=True)
class ApprovedVersion:
    """One approved, re-verified draft version, ready to run."""

    draft_id: str
    version: int
    spec: WorkflowSpec
    code: str
    scopes: tuple[str, ...]
    products: str
    spec_hash: str
    code_hash: str

    @property
    def workflow_type(self) -> str:
        """The Temporal workflow type this version runs under."""
        return run_type_name(self.spec.name, self.version, self.spec_hash)

    def task_queue(self, base: str) -> str:
        """This version's own task queue (its workers serve nothing else)."""
        return f"{base}.{self.draft_id}.v{self.version}"


def run_type_name(name: str, version: int, spec_hash: str) -> str:
    """``atc-draft.<name>.v<N>.<spec_hash[:12]>``."""
    return f"{TYPE_PREFIX}{name}.v{version}.{spec_hash[:12]}"


def _sha256(text: str | None) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text is not None else ""


def verify_version(
    draft: dict[str, Any], row: dict[str, Any], approved_spec_hash: str
) -> ApprovedVersion:
    """Re-prove one stored version against the hash its approval named.

    Raises PolicyDenied naming which hash differs (``spec_hash`` or ``code_hash``).
    """
    where = f"draft {draft['id']} version {row['version']}"
    if not row.get("spec_json") or _sha256(row["spec_json"]) != row.get("spec_hash"):
        raise PolicyDenied(f"{where}: spec_hash differs: the stored spec is not the one hashed")
    if row["spec_hash"] != approved_spec_hash:
        raise PolicyDenied(
            f"{where}: spec_hash differs: stored {row['spec_hash'][:12]}, "
            f"approved {(approved_spec_hash or '-')[:12]}"
        )
    try:
        spec = parse_spec(json.loads(row["spec_json"]))
    except (ValueError, ValidationError) as exc:
        raise PolicyDenied(f"{where}: the stored spec no longer parses ({exc})") from None
    scopes = tuple(draft["scopes"])
    code = render(spec, scopes)
    rendered_hash = code_hash(code)
    if not _renders_as_stored(code, row):
        raise PolicyDenied(
            f"{where}: code_hash differs: the stored code or its hash is not what the renderer "
            "makes of the approved spec"
        )
    return ApprovedVersion(
        draft["id"], row["version"], spec, code, scopes, draft["products"],
        row["spec_hash"], rendered_hash,
    )  # fmt: skip


def _renders_as_stored(code: str, row: dict[str, Any]) -> bool:
    """The stored code hashes to its ``code_hash``, which is today's rendering (or a former one)."""
    stored = row.get("code_hash")
    if not stored or _sha256(row.get("code")) != stored:
        return False
    return stored in {code_hash(c) for c in (code, *former_renderings(code))}


def approved_version(
    store: DraftStore, draft_id: str, version: int | None = None
) -> ApprovedVersion:
    """The draft's approved version, re-verified; ``version`` must be that one if given.

    Raises PolicyDenied (with the reason) for an unapproved draft, any other
    version, or a version that no longer matches its approval.
    """
    draft = store.get(draft_id)
    approved = draft.get("approved_version")
    if draft["status"] != "approved" or not approved:
        raise PolicyDenied(f"draft {draft_id} is not approved (status: {draft['status']})")
    if version is not None and version != approved:
        raise PolicyDenied(
            f"draft {draft_id} version {version} is not the approved version ({approved})"
        )
    row = store.version(draft_id, approved)
    version_ok = verify_version(draft, row, draft.get("approved_spec_hash") or "")
    _check_audit(draft, approved, version_ok.spec_hash)
    return version_ok


def _approvals(draft: dict[str, Any]) -> dict[int, str]:
    """Each version's last approval in the audit trail: version -> spec hash it named."""
    out: dict[int, str] = {}
    for entry in draft["audit"]:
        if entry["action"] == "approved" and entry["version"] is not None:
            out[entry["version"]] = entry.get("spec_hash") or ""
    return out


def _check_audit(draft: dict[str, Any], version: int, spec_hash: str) -> None:
    named = _approvals(draft).get(version)
    if named is None or not spec_hash.startswith(named or "\0"):
        raise PolicyDenied(
            f"draft {draft['id']} version {version}: spec_hash differs from the one its "
            "recorded approval named"
        )


def servable_versions(store: DraftStore) -> tuple[list[ApprovedVersion], list[str]]:
    """Every version ever approved that still verifies, and why the others were skipped.

    A worker serves earlier approved versions too: executions started while
    they were approved must be able to finish.
    """
    good: list[ApprovedVersion] = []
    skipped: list[str] = []
    for summary in store.list():
        draft = store.get(summary["id"])
        for number, named in sorted(_approvals(draft).items()):
            try:
                row = store.version(draft["id"], number)
                good.append(verify_version(draft, row, _full_hash(row, named)))
            except PolicyDenied as exc:
                skipped.append(exc.message)
    return good, skipped


def _full_hash(row: dict[str, Any], named: str) -> str:
    # Approvals may name a prefix (12+ characters) of the hash they saw.
    stored = row.get("spec_hash") or ""
    return stored if named and stored.startswith(named) else named
