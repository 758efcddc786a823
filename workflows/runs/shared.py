"""Names shared by the runs worker and starter: search attributes, memo, workflow ids."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from copilot.runs.approved import ApprovedVersion
from workflows.authoring.shared import SA_DRAFT_ID, SA_SPEC_HASH, SA_VERSION

RUN_KIND = "draft-run"
SA_KIND = "AtcKind"
SA_REQUESTED_BY = "AtcRequestedBy"
KEYWORD_ATTRIBUTES = (SA_DRAFT_ID, SA_SPEC_HASH, SA_KIND, SA_REQUESTED_BY)
INT_ATTRIBUTES = (SA_VERSION,)
READY = "atc runs worker: polling"

DRAFT_ID = SearchAttributeKey.for_keyword(SA_DRAFT_ID)
VERSION = SearchAttributeKey.for_int(SA_VERSION)
SPEC_HASH = SearchAttributeKey.for_keyword(SA_SPEC_HASH)
KIND = SearchAttributeKey.for_keyword(SA_KIND)
REQUESTED_BY = SearchAttributeKey.for_keyword(SA_REQUESTED_BY)


def run_workflow_id(draft_id: str) -> str:
    """A fresh id for one run of a draft (``run-<draft>-<random>``)."""
    return f"run-{draft_id}-{uuid.uuid4().hex[:12]}"


def run_memo(approved: ApprovedVersion, requested_by: str) -> dict[str, Any]:
    """What a run says about itself: ids and hashes, never a key or token."""
    return {
        "kind": RUN_KIND,
        "draft_id": approved.draft_id,
        "version": approved.version,
        "spec_hash": approved.spec_hash,
        "code_hash": approved.code_hash,
        "requested_by": requested_by,
        "products": approved.products,
    }


def run_attributes(approved: ApprovedVersion, requested_by: str) -> TypedSearchAttributes:
    """The run's search attributes (registered by the runs worker)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(DRAFT_ID, approved.draft_id),
            SearchAttributePair(VERSION, approved.version),
            SearchAttributePair(SPEC_HASH, approved.spec_hash),
            SearchAttributePair(KIND, RUN_KIND),
            SearchAttributePair(REQUESTED_BY, requested_by),
        ]
    )


async def ensure_run_attributes(client: Any, namespace: str) -> bool:
    """Register the runs' search attributes if missing; False when the server refuses."""
    from workflows.search_attributes import register

    return await register(client, namespace, KEYWORD_ATTRIBUTES, INT_ATTRIBUTES)


def status_task_queues(settings: Any) -> list[str]:
    """The queues a runs worker polls: one per approved version it serves (for ``atc status``)."""
    from copilot.drafting.store import DraftStore
    from copilot.runs.approved import servable_versions

    store = DraftStore.in_data_dir(settings.data_dir)
    versions, _ = servable_versions(store)
    return [v.task_queue(settings.runs_task_queue) for v in versions] or [settings.runs_task_queue]
