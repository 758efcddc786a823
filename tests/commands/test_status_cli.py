"""`atc status`: every part reported, down parts included, exit 0; the LLM key never shown."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from copilot.cli import run
from copilot.config import Settings
from copilot.scopes.server import BackgroundServer
from copilot.temporal_connect import connect
from tests.workflows.devserver import DevServer, dev_server, free_port

pytestmark = pytest.mark.slow  # probes real servers and waits for refused connections

KEY = "sk-test-never-printed-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    with dev_server(tmp_path_factory.mktemp("temporal")) as running:
        yield running


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean ATC_* environment: a data dir of its own, Temporal on a closed port."""
    for name in [n for n in os.environ if n.startswith("ATC_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ATC_TEMPORAL_ADDRESS", f"127.0.0.1:{free_port()}")
    return monkeypatch


@pytest.fixture
def llm() -> Iterator[tuple[str, list[str]]]:
    """An OpenAI-compatible `/models` that records the Authorization headers it got."""
    seen: list[str] = []

    async def models(request: Request) -> JSONResponse:
        seen.append(request.headers.get("authorization", ""))
        return JSONResponse({"data": [{"id": "gpt-4o-mini"}]})

    with BackgroundServer(Starlette(routes=[Route("/v1/models", models)])) as running:
        yield running.url + "/v1", seen


def _status(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = run(["status", *argv])
    out, err = capsys.readouterr()
    return code, out + err


def test_with_nothing_running_every_part_is_down_and_it_exits_0(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _status(capsys, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] is True
    assert doc["estate"]["running"] is False
    assert doc["temporal"]["up"] is False and doc["temporal"]["detail"].startswith("TemporalError")
    assert [w["polling"] for w in doc["workers"]] == [False] * len(doc["workers"])
    assert doc["gateway"]["up"] is False and doc["dashboard"]["up"] is False
    assert doc["llm"]["configured"] is False
    assert doc["bridge"] == {"configured": False, "detail": "not configured"}
    assert doc["schedules"] == {"listed": False, "items": []}


def test_the_llm_endpoint_is_probed_with_its_key_but_the_key_is_never_printed(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], llm: tuple[str, list[str]]
) -> None:
    url, seen = llm
    env.setenv("ATC_LLM_BASE_URL", url.replace("http://", "http://user:pw@"))
    env.setenv("ATC_LLM_API_KEY_ENV", "ATC_TEST_LLM_KEY")
    env.setenv("ATC_TEST_LLM_KEY", KEY)
    code, out = _status(capsys, "--json")
    doc = json.loads(out)["llm"]
    assert code == 0 and seen == [f"Bearer {KEY}"]
    assert doc["reachable"] is True and doc["http_status"] == 200 and doc["key_set"] is True
    assert doc["base_url"] == url and "pw" not in out
    code, table = _status(capsys)
    assert code == 0 and "reachable" in table
    assert KEY not in out and KEY not in table


def test_an_llm_endpoint_that_does_not_answer_is_unreachable(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("ATC_LLM_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    code, out = _status(capsys, "--json")
    doc = json.loads(out)["llm"]
    assert code == 0 and doc["configured"] is True and doc["reachable"] is False
    assert doc["key_set"] is False


def test_schedules_are_listed_with_their_next_run_and_idle_queues_are_not_polling(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], server: DevServer
) -> None:
    from temporalio.client import (
        Schedule,
        ScheduleActionStartWorkflow,
        ScheduleIntervalSpec,
        ScheduleSpec,
    )

    schedule_id = f"atc-report-{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        client = await connect(Settings(temporal_address=server.address), within_s=10)
        action = ScheduleActionStartWorkflow(
            "AtcReportWorkflow", id=f"{schedule_id}-run", task_queue="atc-status-test"
        )
        spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=1))])
        await client.create_schedule(schedule_id, Schedule(action=action, spec=spec))

    asyncio.run(create())
    env.setenv("ATC_TEMPORAL_ADDRESS", server.address)
    env.setenv("ATC_TEMPORAL_TASK_QUEUE", f"atc-idle-{uuid.uuid4().hex[:8]}")
    code, out = _status(capsys, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["temporal"]["up"] is True
    drafting = next(w for w in doc["workers"] if w["kind"] == "drafting")
    assert drafting["polling"] is False and drafting["pollers"] == []
    listed = {item["id"]: item for item in doc["schedules"]["items"]}
    assert listed[schedule_id]["atc"] is True and listed[schedule_id]["next_run"]
    code, table = _status(capsys)
    assert f"schedule {schedule_id}" in table


def test_an_unknown_option_is_bad_usage(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _status(capsys, "--bogus")
    assert code == 2 and out.startswith("UsageError:")
