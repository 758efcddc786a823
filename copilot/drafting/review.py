"""Review decisions from every front end, through one writer.

``decide`` is what the CLI and the dashboard call. A draft reviewed by a
Temporal ``ReviewWorkflow`` (the store records its id) is decided only
through that workflow's ``decide`` update, whose activity is the one writer
of the store; any other draft is decided by the store's compare-and-set.
Either way the decision names the version the reviewer saw and its spec
hash, and lands at most once.

Who decided is verified when the dashboard runs behind a gateway or an
identity-aware proxy that passes a signed JWT in a configured header
(``ATC_REVIEWER_HEADER`` with ``ATC_REVIEWER_JWKS``, ``..._AUDIENCE`` and
``..._ISSUER``); otherwise the name typed in is recorded as unverified.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from copilot.config import Settings, load_settings
from copilot.drafting.decision import ReviewDecision
from copilot.drafting.store import DraftStore
from copilot.errors import AtcError, ConfigError, PolicyDenied, TokenInvalid

# Identity tokens from proxies live longer than atc's own scoped tokens.
REVIEWER_TOKEN_MAX_LIFETIME_S = 24 * 3600


@dataclass(frozen=True)
class Reviewer:
    """Who decides; ``verified`` only when a signed token said so."""

    name: str
    verified: bool = False
    subject: str | None = None
    issuer: str | None = None


def reviewer_from_token(token: str, settings: Settings) -> Reviewer:
    """A verified reviewer from a JWT (raises TokenInvalid with the reason)."""
    from copilot.scopes.keys import load_jwks
    from copilot.scopes.tokens import verify_token

    if not (settings.reviewer_jwks and settings.reviewer_audience and settings.reviewer_issuer):
        raise ConfigError(
            "reviewer tokens need ATC_REVIEWER_JWKS, ATC_REVIEWER_AUDIENCE and ATC_REVIEWER_ISSUER"
        )
    verified = verify_token(
        token,
        load_jwks(settings.reviewer_jwks),
        audience=settings.reviewer_audience,
        issuer=settings.reviewer_issuer,
        max_lifetime_s=REVIEWER_TOKEN_MAX_LIFETIME_S,
        require_scope=False,
    )
    name = verified.claims.get(settings.reviewer_claim)
    if not isinstance(name, str) or not name.strip():
        raise TokenInvalid(f"the reviewer token has no {settings.reviewer_claim!r} claim")
    return Reviewer(name.strip()[:200], True, verified.subject, settings.reviewer_issuer)


def reviewer_from_headers(headers: Mapping[str, str], settings: Settings) -> Reviewer | None:
    """The verified reviewer in the configured header, or None when none is configured/sent."""
    if not settings.reviewer_header:
        return None
    wanted = settings.reviewer_header.lower()
    value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    if not value:
        return None
    token = value.split(None, 1)[1] if value.lower().startswith("bearer ") else value
    return reviewer_from_token(token.strip(), settings)


def decide(
    draft_id: str,
    action: str,
    *,
    version: int,
    spec_hash: str,
    reviewer: Reviewer,
    comment: str = "",
    settings: Settings | None = None,
    temporal: bool = False,
    change: bool = False,
) -> dict[str, Any]:
    """Approve, reject or comment on ``version`` (named with its spec hash); returns the draft.

    Through the draft's review workflow when it has one (or ``temporal`` asks
    for one), else by the store's compare-and-set. ``change`` reverses the
    draft's decision on that version (the opposite action, with its own
    comment); a review workflow ends with its decision, so a draft reviewed
    by one changes its decision only with a new version.
    """
    settings = settings or load_settings()
    store = DraftStore.in_data_dir(settings.data_dir)
    decision = ReviewDecision(
        action,
        reviewer.name,
        comment,
        version,
        spec_hash,
        reviewer.verified,
        decision_id=f"dec-{uuid.uuid4().hex}",
        change=change,
    )
    workflow_id = store.get(draft_id).get("review_workflow_id")
    if change and (workflow_id or temporal):
        raise PolicyDenied(
            f"draft {draft_id} was decided in its Temporal review, which ends with the decision; "
            "to change it, make a new version (edit the spec or re-draft)"
        )
    if workflow_id or temporal:
        from workflows.authoring.starter import decide_temporal

        decide_temporal(draft_id, decision, settings=settings)
        return store.get(draft_id)
    return store.decide(draft_id, decision)


def announce_new_version(draft_id: str, settings: Settings | None = None) -> str | None:
    """Let the draft's review workflow load its new version; a note when it could not.

    Not fatal: every decision refreshes the review first, so the version is
    picked up then at the latest.
    """
    from workflows.authoring.starter import refresh_review

    try:
        refresh_review(draft_id, settings=settings)
    except AtcError as exc:
        return (
            f"the review workflow was not told of the new version ({exc.message}); "
            "it loads it at the next decision"
        )
    return None
