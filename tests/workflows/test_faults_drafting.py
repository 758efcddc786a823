"""Drafting under faults, on the real dev server with worker processes.

A store whose completion is lost (the worker dies right after the write
commits) leaves one draft; a worker killed with SIGKILL during validation is
replaced and the heartbeat timeout hands the activity to the new worker
within seconds (the recovery time is printed); SIGTERM during planning lets
the finished LLM call report instead of throwing it away.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHandle

from copilot.drafting.store import DraftStore
from copilot.scopes import DEFAULT_PRODUCTS
from copilot.scopes.server import BackgroundServer
from tests.drafting.fake_llm import FakeLLM, Reply, answer
from tests.drafting.specs import FLAGSHIP_REQUEST, FLAGSHIP_SCOPES
from tests.paths import LLM_FIXTURES
from tests.workflows import devserver
from tests.workflows.devserver import dev_server, estate_fixture, worker_env
from workflows.authoring.shared import (
    PLAN_ACTIVITY,
    STORE_ACTIVITY,
    VALIDATE_ACTIVITY,
    DraftInput,
    DraftRecord,
)

pytestmark = pytest.mark.slow
KEY_ENV = "ATC_FAKE_LLM_KEY"


class Estate(devserver.Estate):
    """An estate that starts drafting workflows."""

    async def start(self, client: Client, data: DraftInput) -> WorkflowHandle:
        return await client.start_workflow(
            "DraftRequestWorkflow",
            data,
            id=f"draft-{uuid.uuid4().hex[:12]}",
            task_queue=self.queue,
            result_type=DraftRecord,
        )


estate = estate_fixture(Estate)


async def _wait_started(handle: WorkflowHandle, activity: str, attempt: int = 1) -> None:
    for _ in range(1200):
        for pending in (await handle.describe()).raw_description.pending_activities:
            if (
                pending.activity_type.name == activity
                and pending.attempt >= attempt
                and pending.state == 2  # PENDING_ACTIVITY_STATE_STARTED
            ):
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{activity} attempt {attempt} never started")


async def _attempts(handle: WorkflowHandle, activity: str) -> list[int]:
    """Attempt numbers of the completed runs of ``activity`` (from the history)."""
    history = await handle.fetch_history()
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    return [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
        and scheduled[e.activity_task_started_event_attributes.scheduled_event_id] == activity
    ]


def _offline(dry_run: bool) -> DraftInput:
    return DraftInput(
        FLAGSHIP_REQUEST,
        list(FLAGSHIP_SCOPES),
        str(DEFAULT_PRODUCTS),
        planner="offline",
        run_dry_run=dry_run,
    )


def test_a_store_whose_completion_was_lost_leaves_one_draft(estate: Estate) -> None:
    first = estate.worker(ATC_FAILPOINTS="store.after_commit")

    async def go() -> tuple[DraftRecord, list[int]]:
        client = await Client.connect(estate.server.address)
        handle = await estate.start(client, _offline(dry_run=False))
        await asyncio.to_thread(first.proc.wait, 120)  # died right after the write committed
        estate.worker()
        return await handle.result(), await _attempts(handle, STORE_ACTIVITY)

    record, attempts = asyncio.run(go())
    assert first.proc.returncode == 137
    assert attempts == [2]  # the first attempt's completion never reached the server
    drafts = DraftStore.in_data_dir(estate.data).list()
    assert [d["id"] for d in drafts] == [record.draft_id]


def test_a_worker_killed_during_validation_is_replaced_within_the_heartbeat_timeout(
    estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    first = estate.worker()

    async def go() -> tuple[DraftRecord, float, list[int]]:
        client = await Client.connect(estate.server.address)
        handle = await estate.start(client, _offline(dry_run=True))
        await _wait_started(handle, VALIDATE_ACTIVITY)
        await asyncio.sleep(1.0)  # well inside the dry run
        first.kill9()
        killed = time.monotonic()
        estate.worker()
        await _wait_started(handle, VALIDATE_ACTIVITY, attempt=2)
        recovered = time.monotonic() - killed
        return await handle.result(), recovered, await _attempts(handle, VALIDATE_ACTIVITY)

    record, recovered, attempts = asyncio.run(go())
    with capsys.disabled():
        print(f"\nvalidation recovered {recovered:.1f} s after kill -9 of its worker")
    assert record.valid, record.findings
    assert attempts == [2]
    assert [d["id"] for d in DraftStore.in_data_dir(estate.data).list()] == [record.draft_id]


@pytest.fixture
def slow_llm() -> Iterator[tuple[FakeLLM, str]]:
    fake = FakeLLM()
    with BackgroundServer(fake.app) as running:
        yield fake, running.url


def test_sigterm_during_planning_lets_the_finished_llm_call_report(
    estate: Estate, slow_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = slow_llm
    spec = json.loads((LLM_FIXTURES / "valid_spec.json").read_text(encoding="utf-8"))
    fake.reset(Reply(delay_s=3.0, body=answer(spec).body))
    llm = {"ATC_LLM_BASE_URL": url + "/v1", "ATC_LLM_API_KEY_ENV": KEY_ENV, KEY_ENV: "k-1"}
    first = estate.worker(**llm)
    data = DraftInput(
        "Look the order up, ask a supervisor, cancel it and email the customer",
        ["notifications.send", "orders.read", "orders.write"],
        str(DEFAULT_PRODUCTS),
        planner="openai",
        run_dry_run=False,
        store=False,
    )

    async def go() -> tuple[DraftRecord, int, list[int]]:
        client = await Client.connect(estate.server.address)
        handle = await estate.start(client, data)
        await _wait_started(handle, PLAN_ACTIVITY)
        while not fake.requests:
            await asyncio.sleep(0.05)
        code = await asyncio.to_thread(first.terminate)  # mid-call: the reply is 3 s away
        estate.worker(**llm)
        return await handle.result(), code, await _attempts(handle, PLAN_ACTIVITY)

    record, code, attempts = asyncio.run(go())
    assert code == 0 and "stopping" in first.log.read_text()
    assert attempts == [1]  # the call that was running when SIGTERM came is the one that counted
    assert len(fake.requests) == 1 and record.rules_ok, record.findings


def test_the_cli_prints_the_workflow_id_first_and_rides_out_a_server_restart(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    own = tmp_path / "own"
    own.mkdir()
    with dev_server(own) as server:
        estate = Estate(server, tmp_path)
        try:
            estate.worker()
            env = worker_env(server, estate.data, estate.queue)
            argv = [sys.executable, "-m", "copilot.cli", "draft", FLAGSHIP_REQUEST]
            argv += ["--scopes", ",".join(FLAGSHIP_SCOPES), "--out", str(tmp_path / "d")]
            cli = subprocess.Popen(
                [*argv, "--temporal", "--json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert cli.stderr is not None
            announced = cli.stderr.readline()  # before any waiting
            server.stop()
            time.sleep(2.0)
            server.start()
            out, err = cli.communicate(timeout=300)
        finally:
            estate.stop()
    assert announced.startswith("drafting workflow: draft-"), announced + err
    assert cli.returncode == 0, err
    assert out.strip().startswith("{"), f"stdout: {out[:300]!r}; stderr: {err[-500:]}"
    doc = json.loads(out)
    assert cli.returncode == 0 and doc["ok"] and doc["valid"], err
    assert [d["id"] for d in DraftStore.in_data_dir(estate.data).list()] == [doc["draft_id"]]
