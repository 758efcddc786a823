"""Idempotent starts: ids per (namespace, type, caller, key), and 500 concurrent starts
on a real dev server of which 20% repeat a key make exactly one workflow per key."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import httpx
import pytest
from temporalio.client import Client

from copilot.bridge.idempotency import workflow_id
from tests.workflows.devserver import DevServer

from .conftest import Keys, Running, mint


def test_a_key_names_one_workflow_per_namespace_type_and_caller() -> None:
    base = workflow_id("default", "OrderApproval", "iss\x1falice\x1fapp", "k-1")
    assert base == workflow_id("default", "OrderApproval", "iss\x1falice\x1fapp", "k-1")
    others = {
        workflow_id("orders", "OrderApproval", "iss\x1falice\x1fapp", "k-1"),
        workflow_id("default", "Refund", "iss\x1falice\x1fapp", "k-1"),
        workflow_id("default", "OrderApproval", "iss\x1fbob\x1fapp", "k-1"),
        workflow_id("default", "OrderApproval", "iss\x1falice\x1fapp", "k-2"),
    }
    assert base not in others and len(others) == 4
    assert base.startswith("bridge-OrderApproval-k") and "k-1" not in base
    fresh = {workflow_id("default", "OrderApproval", "c", None) for _ in range(3)}
    assert len(fresh) == 3


@pytest.mark.slow
def test_500_concurrent_starts_with_20_percent_repeated_keys_make_one_workflow_per_key(
    server: DevServer, start_bridge: Callable[..., Running], keys: Keys
) -> None:
    running = start_bridge(server.address, extra="queue_wait_s = 120")
    subject = f"load-{uuid.uuid4().hex[:8]}"
    token = mint(keys, sub=subject, exp=int(time.time()) + 900)
    distinct = [f"key-{i}" for i in range(400)]
    sent = distinct + distinct[:100]  # 100 repeats: 20% of 500

    async def fire() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
        async with httpx.AsyncClient(limits=limits, timeout=120, trust_env=False) as http:
            return await asyncio.gather(
                *(
                    http.post(
                        f"{running.url}/v1/workflows/OrderApproval",
                        json={"order_id": key},
                        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                    )
                    for key in sent
                )
            )

    responses = asyncio.run(fire())
    assert [r.status_code for r in responses] == [202] * 500, {
        r.text for r in responses if r.status_code != 202
    }
    by_key: dict[str, set[tuple[str, str]]] = {}
    for key, response in zip(sent, responses, strict=True):
        doc = response.json()
        by_key.setdefault(key, set()).add((doc["workflow_id"], doc["run_id"]))
    assert all(len(runs) == 1 for runs in by_key.values())
    returned = {next(iter(runs))[0] for runs in by_key.values()}
    assert len(returned) == 400

    async def listed() -> set[str]:
        client = await Client.connect(server.address)
        query = f'WorkflowType = "OrderApproval" AND AtcCaller = "{subject}"'
        count = (await client.count_workflows(query)).count
        ids = {w.id async for w in client.list_workflows(query)}
        return ids if count == len(ids) else set()

    deadline = time.monotonic() + 60
    ids = asyncio.run(listed())
    while ids != returned and time.monotonic() < deadline:  # visibility catches up
        time.sleep(0.5)
        ids = asyncio.run(listed())
    assert ids == returned
