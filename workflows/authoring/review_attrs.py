"""What a review workflow publishes for ``temporal workflow list``: memo and search attributes.

Memo needs no set-up; search attributes must be registered in the namespace
first (``ensure_search_attributes``, run by ``atc worker``), and the workflow
upserts them only when they are. Then, for example::

    temporal workflow list --query 'AtcReviewStatus="pending"'
    temporal workflow list --query 'AtcReviewStatus="approved" AND AtcDecidedBy="alice"'
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from workflows.authoring.shared import (
    INT_ATTRIBUTES,
    KEYWORD_ATTRIBUTES,
    SA_DECIDED_BY,
    SA_DRAFT_ID,
    SA_REVIEW_STATUS,
    SA_SPEC_HASH,
    SA_VERSION,
    ReviewState,
)

DRAFT_ID = SearchAttributeKey.for_keyword(SA_DRAFT_ID)
REVIEW_STATUS = SearchAttributeKey.for_keyword(SA_REVIEW_STATUS)
VERSION = SearchAttributeKey.for_int(SA_VERSION)
SPEC_HASH = SearchAttributeKey.for_keyword(SA_SPEC_HASH)
DECIDED_BY = SearchAttributeKey.for_keyword(SA_DECIDED_BY)


def review_attributes(state: ReviewState) -> tuple[dict[str, Any], list[SearchAttributeUpdate]]:
    """(memo, search attribute updates) for a review's current state."""
    memo = {
        "draft_id": state.draft_id,
        "status": state.status,
        "version": state.version,
        "spec_hash": state.spec_hash,
        "code_hash": state.code_hash,
        "approved_version": state.approved_version,
        "decided_by": state.decided_by,
    }
    updates = [
        DRAFT_ID.value_set(state.draft_id),
        REVIEW_STATUS.value_set(state.status),
        VERSION.value_set(state.version),
        SPEC_HASH.value_set(state.spec_hash),
        DECIDED_BY.value_set(state.decided_by) if state.decided_by else DECIDED_BY.value_unset(),
    ]
    return memo, updates


async def ensure_search_attributes(client: Any, namespace: str) -> bool:
    """Register atc's review search attributes if missing; False when the server refuses."""
    from workflows.search_attributes import register

    return await register(client, namespace, KEYWORD_ATTRIBUTES, INT_ATTRIBUTES)
