"""A review decision and the rules every path applies to it (pure, sandbox-safe).

A decision names the version the reviewer saw *and* its content hash, so it
approves exactly what was reviewed: when a newer version was stored in the
meantime, or the hash does not match, it is refused. A decided draft is not
decided again until a new version re-opens it. ``decision_id`` makes a
retried write idempotent: the second write returns what the first landed.
"""

from __future__ import annotations

from dataclasses import dataclass

FINAL_ACTIONS = ("approve", "reject")
REVIEW_ACTIONS = (*FINAL_ACTIONS, "comment")
# A hash given as a prefix must be at least this long (48 bits).
MIN_HASH_PREFIX = 12


@dataclass
class ReviewDecision:
    """A reviewer's decision on one version of a draft."""

    action: str
    reviewer: str
    comment: str = ""
    version: int = 0
    spec_hash: str = ""
    verified: bool = False
    decision_id: str = ""


@dataclass
class VersionState:
    """The draft's latest version and status, as the store sees it."""

    version: int
    valid: bool
    status: str
    spec_hash: str = ""
    code_hash: str = ""
    approved_version: int | None = None
    decided_by: str = ""


def hash_matches(given: str, actual: str | None) -> bool:
    """Whether ``given`` is ``actual`` or a prefix of it at least MIN_HASH_PREFIX long."""
    given = given.strip().lower()
    if not actual or len(given) < MIN_HASH_PREFIX:
        return False
    return actual.lower().startswith(given)


def decision_problem(state: VersionState, decision: ReviewDecision) -> str | None:
    """Why ``decision`` must be refused against ``state`` (the latest version), or None."""
    if decision.action not in REVIEW_ACTIONS:
        return f"unknown action {decision.action!r}; use one of {', '.join(REVIEW_ACTIONS)}"
    if not decision.reviewer.strip():
        return "a decision must name its reviewer"
    if decision.action == "comment":
        return None
    if state.status != "draft":
        by = f" by {state.decided_by}" if state.decided_by else ""
        return (
            f"the draft is already {state.status}{by}; a decision needs a new version "
            "(edit the spec or re-draft)"
        )
    if decision.version != state.version or not hash_matches(decision.spec_hash, state.spec_hash):
        return (
            f"version {decision.version} (spec {decision.spec_hash[:12] or '?'}) is not the "
            f"current version {state.version} (spec {state.spec_hash[:12]}); reload and review it"
        )
    if decision.action == "approve" and not state.valid:
        return f"version {state.version} failed validation; it cannot be approved"
    return None
