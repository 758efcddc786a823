"""A review decision and the rules every path applies to it (pure, sandbox-safe).

A decision names the version the reviewer saw *and* its content hash, so it
approves exactly what was reviewed: when a newer version was stored in the
meantime, or the hash does not match, it is refused. A decided draft is not
decided again until a new version re-opens it, except by an explicit change
of decision (``change``): the opposite action on the same version, with its
own comment. ``decision_id`` makes a retried write idempotent: the second
write returns what the first landed.

The version under review is the latest one that passed validation: a later
version that failed validation is its own (failed) version and does not take
the earlier valid one out of review.
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
    change: bool = False  # reverses the decision on this version; needs its own comment


@dataclass
class VersionState:
    """The version under review (the latest valid one, else the latest) and the draft's status."""

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
    problem = _change_problem(state, decision)
    if problem:
        return problem
    if decision.version != state.version or not hash_matches(decision.spec_hash, state.spec_hash):
        return (
            f"version {decision.version} (spec {decision.spec_hash[:12] or '?'}) is not the "
            f"current version {state.version} (spec {state.spec_hash[:12]}); reload and review it"
        )
    if decision.action == "approve" and not state.valid:
        return f"version {state.version} failed validation; it cannot be approved"
    return None


_OPPOSITE = {"approved": "reject", "rejected": "approve"}


def _change_problem(state: VersionState, decision: ReviewDecision) -> str | None:
    """Why a decision is refused for being (or not being) a change of decision."""
    if state.status == "draft":
        if decision.change:
            return "the draft is not decided yet: there is no decision to change"
        return None
    by = f" by {state.decided_by}" if state.decided_by else ""
    if not decision.change:
        return (
            f"the draft is already {state.status}{by}; to reverse that, use Change decision "
            "(with its own comment), or make a new version (edit the spec or re-draft)"
        )
    if decision.action != _OPPOSITE.get(state.status):
        wanted = _OPPOSITE.get(state.status, "differ")
        return f"the draft is already {state.status}{by}; a change of decision must {wanted}"
    if not decision.comment.strip():
        return "a change of decision needs its own comment saying why"
    return None
