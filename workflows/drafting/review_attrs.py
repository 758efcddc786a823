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

from workflows.drafting.shared import (
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
    """Register atc's search attributes if missing; False when the server refuses
    (Temporal Cloud without the permission, say): reviews then publish memo only."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )

    wanted = {name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for name in KEYWORD_ATTRIBUTES}
    wanted.update({name: IndexedValueType.INDEXED_VALUE_TYPE_INT for name in INT_ATTRIBUTES})
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        missing = {k: v for k, v in wanted.items() if k not in listed.custom_attributes}
        if missing:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
            )
    except Exception:  # noqa: BLE001 - any refusal means: publish memo only
        return False
    return True
