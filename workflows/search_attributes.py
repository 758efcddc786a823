"""Registering atc's search attributes in a namespace (reviews, runs, bridge starts)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


async def register(
    client: Any,
    namespace: str,
    keywords: Iterable[str],
    ints: Iterable[str] = (),
    keyword_lists: Iterable[str] = (),
) -> bool:
    """Add the missing ones; False when the server refuses (Temporal Cloud without the
    permission, say): callers then publish the same in memo only."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )

    wanted = {name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for name in keywords}
    wanted.update({name: IndexedValueType.INDEXED_VALUE_TYPE_INT for name in ints})
    wanted.update(
        {name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST for name in keyword_lists}
    )
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        missing = {k: v for k, v in wanted.items() if k not in listed.custom_attributes}
        if missing:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
            )
    except Exception:  # noqa: BLE001 - any refusal means: memo only
        return False
    return True
