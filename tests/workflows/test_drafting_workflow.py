"""DraftRequestWorkflow on the real time-skipping test server with an in-process worker.

Offline end to end (valid, stored); a 429 with Retry-After retried by
Temporal (two activity attempts, the library does not retry); a
non-retryable LLM error failing the workflow cleanly; replay of a history
recorded here and of the committed fixture.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHistory
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from copilot.config import Settings
from copilot.drafting.store import DraftStore
from copilot.errors import InputError, LLMError, LLMUnavailable
from copilot.scopes import DEFAULT_PRODUCTS
from copilot.scopes.server import BackgroundServer
from tests.drafting.fake_llm import FakeLLM, answer, error
from tests.drafting.specs import FLAGSHIP_REQUEST, FLAGSHIP_SCOPES
from tests.paths import HISTORIES, LLM_FIXTURES
from workflows.authoring.activities import (
    MAX_RETRY_DELAY_S,
    DraftingActivities,
    to_application_error,
)
from workflows.authoring.shared import TASK_QUEUE, DraftInput, DraftRecord
from workflows.authoring.worker import MAX_ACTIVITY_THREADS, drafting_worker
from workflows.authoring.workflows import DraftRequestWorkflow, ReviewWorkflow
from workflows.runtime.dryrun_child import find_test_server

LLM_SCOPES = ["notifications.send", "orders.read", "orders.write"]
KEY_ENV = "ATC_FAKE_LLM_KEY"
# Set to re-record the committed history fixtures (after an intended workflow change).
RECORD = os.environ.get("ATC_RECORD_HISTORIES") == "1"


@asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[Client]:
    """The time-skipping test server (from the wheel) and a drafting worker on it."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_test_server()
    )
    async with env:
        with ThreadPoolExecutor(MAX_ACTIVITY_THREADS) as executor:
            worker = drafting_worker(env.client, DraftingActivities(settings), TASK_QUEUE, executor)
            async with worker:
                yield env.client


def save_history(name: str, history: WorkflowHistory) -> None:
    """Write a recorded history as a fixture (only when re-recording)."""
    if RECORD:
        HISTORIES.mkdir(parents=True, exist_ok=True)
        (HISTORIES / name).write_text(history.to_json(), encoding="utf-8")


def replay(history: WorkflowHistory) -> None:
    """Replay a history against today's workflow code (raises on non-determinism)."""
    asyncio.run(Replayer(workflows=[DraftRequestWorkflow, ReviewWorkflow]).replay_workflow(history))


async def _draft(client: Client, data: DraftInput) -> tuple[DraftRecord, WorkflowHistory]:
    handle = await client.start_workflow(
        DraftRequestWorkflow.run, data, id=f"draft-{uuid.uuid4().hex[:8]}", task_queue=TASK_QUEUE
    )
    outcome = await handle.result()
    return outcome, await handle.fetch_history()


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeLLM, str]]:
    server = FakeLLM()
    with BackgroundServer(server.app) as running:
        yield server, running.url


def _llm_settings(fake: tuple[FakeLLM, str], data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        llm_base_url=fake[1] + "/v1",
        llm_model="fake-model",
        llm_api_key_env=KEY_ENV,
        llm_timeout_s=10.0,
    )


def _valid_spec() -> dict[str, Any]:
    return json.loads((LLM_FIXTURES / "valid_spec.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_an_offline_draft_runs_end_to_end_and_is_stored(tmp_path: Path) -> None:
    data = DraftInput(
        FLAGSHIP_REQUEST, list(FLAGSHIP_SCOPES), str(DEFAULT_PRODUCTS), planner="offline"
    )

    async def go() -> tuple[DraftRecord, WorkflowHistory]:
        async with running_worker(Settings(data_dir=tmp_path)) as client:
            return await _draft(client, data)

    outcome, history = asyncio.run(go())
    assert outcome.valid and outcome.rules_ok, outcome.findings
    assert outcome.planner == "offline" and outcome.attempts == 1
    assert outcome.dry_run is not None and outcome.dry_run["ok"]
    assert outcome.code and "@workflow.defn" in outcome.code
    stored = DraftStore.in_data_dir(tmp_path).get(outcome.draft_id)
    assert stored["status"] == "draft" and stored["versions"][0]["valid"]
    assert stored["audit"][0]["action"] == "created"
    # Only the request, scope names, product path and draft id travel: no key.
    assert "api_key" not in history.to_json().lower()
    save_history("draft_offline.json", history)
    replay(history)


@pytest.mark.slow
def test_a_429_is_retried_by_temporal_after_retry_after(
    fake: tuple[FakeLLM, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "fake-key-123")
    fake[0].reset(error(429, "slow down", {"Retry-After": "1"}), answer(_valid_spec()))
    data = DraftInput(
        "Look the order up, ask a supervisor, cancel it and email the customer",
        LLM_SCOPES,
        str(DEFAULT_PRODUCTS),
        planner="openai",
        run_dry_run=False,
    )

    async def go() -> tuple[DraftRecord, WorkflowHistory]:
        async with running_worker(_llm_settings(fake, tmp_path)) as client:
            return await _draft(client, data)

    outcome, history = asyncio.run(go())
    assert outcome.rules_ok and outcome.attempts == 1, outcome.findings
    # Temporal ran the plan activity twice; the planner itself called the server once per try.
    assert outcome.plan_activity_attempts == [2]
    assert len(fake[0].requests) == 2
    assert "fake-key-123" not in history.to_json()
    started = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert started[0] == 2  # the started event records the attempt that succeeded
    replay(history)


@pytest.mark.slow
def test_a_non_retryable_llm_error_fails_the_workflow_cleanly(
    fake: tuple[FakeLLM, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "fake-key-123")
    fake[0].reset(error(401, "invalid api key"), answer(_valid_spec()))
    data = DraftInput("Cancel the order", LLM_SCOPES, str(DEFAULT_PRODUCTS), planner="openai")

    async def go() -> BaseException:
        async with running_worker(_llm_settings(fake, tmp_path)) as client:
            with pytest.raises(WorkflowFailureError) as caught:
                await _draft(client, data)
            return caught.value

    failure = asyncio.run(go())
    assert isinstance(failure.cause, ActivityError)
    cause = failure.cause.cause
    assert isinstance(cause, ApplicationError) and cause.non_retryable
    assert cause.type == "LLMError" and "401" in cause.message
    assert len(fake[0].requests) == 1  # not retried, by anyone
    assert DraftStore.in_data_dir(tmp_path).list() == []


@pytest.mark.slow
def test_the_committed_draft_history_replays() -> None:
    path = HISTORIES / "draft_offline.json"
    replay(WorkflowHistory.from_json("draft-fixture", path.read_text(encoding="utf-8")))


@pytest.mark.slow
def test_the_cli_drafts_and_approves_through_temporal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from copilot.cli import run

    data_dir = tmp_path / "data"
    monkeypatch.setenv("ATC_DATA_DIR", str(data_dir))
    monkeypatch.setenv("ATC_TEMPORAL_TASK_QUEUE", TASK_QUEUE)
    monkeypatch.delenv("ATC_LLM_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    scopes = ",".join(FLAGSHIP_SCOPES)
    outputs: list[tuple[int, str]] = []

    async def cli(*argv: str) -> None:
        # The CLI runs its own event loop: give it a thread, as a separate process would.
        code = await asyncio.to_thread(run, list(argv))
        outputs.append((code, capsys.readouterr().out))

    async def go() -> None:
        async with running_worker(Settings(data_dir=data_dir)) as client:
            monkeypatch.setenv("ATC_TEMPORAL_ADDRESS", client.service_client.config.target_host)
            await cli("draft", FLAGSHIP_REQUEST, "--scopes", scopes, "--out", "d", "--json", "--temporal")  # fmt: skip
            draft_id = json.loads(outputs[0][1])["draft_id"]
            store = DraftStore.in_data_dir(data_dir)
            spec_hash = store.state(draft_id).spec_hash
            await cli("drafts", "approve", draft_id, "--version", "9", "--hash", spec_hash, "--json")  # fmt: skip
            await cli("drafts", "approve", draft_id, "--version", "1", "--hash", spec_hash[:12], "--by", "alice", "-m", "ok", "--json")  # fmt: skip
            state = await client.get_workflow_handle(f"review-{draft_id}").query("state")
            outputs.append((0, json.dumps(state)))

    asyncio.run(go())
    (code, out), (refused, _), (approved, final), (_, review) = outputs
    doc = json.loads(out)
    assert code == 0 and doc["valid"] and doc["temporal"]["plan_activity_attempts"] == [1]
    assert doc["temporal"]["review_workflow_id"] == f"review-{doc['draft_id']}"
    assert (tmp_path / "d" / "workflow.py").exists() and (tmp_path / "d" / "spec.json").exists()
    assert refused == 3
    final_doc = json.loads(final)
    assert approved == 0 and final_doc["draft"]["status"] == "approved"
    assert json.loads(review)["status"] == "approved"
    assert final_doc["draft"]["audit"][-1]["actor"] == "alice"
    assert final_doc["draft"]["review_workflow_id"] == f"review-{doc['draft_id']}"


def test_llm_failures_map_to_temporal_retry_semantics() -> None:
    busy = to_application_error(LLMUnavailable("rate limited", retry_after=7))
    assert not busy.non_retryable and busy.type == "LLMUnavailable"
    assert busy.next_retry_delay is not None and busy.next_retry_delay.total_seconds() == 7
    hostile = to_application_error(LLMUnavailable("rate limited", retry_after=86400))
    assert hostile.next_retry_delay.total_seconds() == MAX_RETRY_DELAY_S
    assert to_application_error(LLMUnavailable("5xx")).next_retry_delay is None
    for exc, kind in ((LLMError("refused"), "LLMError"), (InputError("bad"), "InputError")):
        failure = to_application_error(exc)
        assert failure.non_retryable and failure.type == kind
