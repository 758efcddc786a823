"""LogAnalysisWorkflow on the time-skipping test server with an in-process worker.

A run delivers files and one webhook POST (a first 503 is retried by
Temporal); a second run with no new logs delivers nothing; a new file gives a
report that says what changed; the history of a run and of its fan-out child
stays small (measured and printed); a committed history replays against
today's workflow code.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from copilot.config import Settings
from copilot.scopes.server import BackgroundServer
from tests.paths import HISTORIES
from tests.reports.logs import generated
from tests.reports.receiver import Receiver
from workflows.reports.activities import ReportActivities
from workflows.reports.shared import ANALYSIS_PREFIX, TASK_QUEUE, ReportInput, ReportResult
from workflows.reports.worker import MAX_ACTIVITY_THREADS, reports_worker
from workflows.reports.workflows import LogAnalysisWorkflow
from workflows.runtime.dryrun_child import find_test_server

FIXTURE = "report_run.json"
# Set to re-record the committed history fixture (after an intended workflow change).
RECORD = os.environ.get("ATC_RECORD_HISTORIES") == "1"
HISTORY_BUDGET = 200_000


async def _run(client: Client, data: ReportInput) -> tuple[ReportResult, WorkflowHistory, int]:
    """A run's result, its history, and the bytes of its fan-out child's history (0: none)."""
    wid = f"report-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        LogAnalysisWorkflow.run, data, id=wid, task_queue=TASK_QUEUE
    )
    result = await handle.result()
    child = 0
    if result.partitions:
        run_id = handle.result_run_id
        history = await client.get_workflow_handle(f"{ANALYSIS_PREFIX}{run_id}").fetch_history()
        child = len(history.to_json().encode())
    return result, await handle.fetch_history(), child


async def _scenario(tmp: Path, hook: str) -> list[tuple[ReportResult, WorkflowHistory, int]]:
    logs = tmp / "logs"
    logs.mkdir()
    generated(logs / "day-1.csv.gz", seed=3)
    data = ReportInput("weekly", str(logs), webhook=hook)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_test_server()
    )
    async with env:
        with ThreadPoolExecutor(MAX_ACTIVITY_THREADS) as pool:
            activities = ReportActivities(Settings(data_dir=tmp / "data"))
            async with reports_worker(env.client, activities, TASK_QUEUE, pool):
                runs = [await _run(env.client, data), await _run(env.client, data)]
                generated(logs / "day-2.csv.gz", seed=4)
                runs.append(await _run(env.client, data))
    return runs


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    receiver = Receiver(fail=1)
    with BackgroundServer(receiver.app) as server:
        tmp = tmp_path_factory.mktemp("reports")
        runs = asyncio.run(_scenario(tmp, server.url + "/hook"))
    return runs, receiver


@pytest.mark.slow
def test_a_run_delivers_files_and_one_webhook_post_per_report(scenario) -> None:  # type: ignore[no-untyped-def]
    (first, _, _), (again, _, _), (third, _, _) = scenario[0]
    receiver = scenario[1]
    assert first.status == "delivered" and first.webhook_status == 200
    assert first.records > 0 and first.partitions == 1 and first.partitions_retried == 0
    out = Path(first.out_dir or "")
    assert {"report.html", "report.md", "proxies.csv", "summary.json"} <= set(first.files)
    assert all((out / f).is_file() for f in first.files)
    assert again.status == "no new logs" and again.out_dir is None
    assert third.status == "delivered" and len(third.logs) == 1
    assert len(receiver.posts) == 2  # one per delivered report; the 503 was retried
    assert all(set(p) == {"text", "blocks"} and "weekly" in p["text"] for p in receiver.posts)


@pytest.mark.slow
def test_a_later_report_says_what_changed(scenario) -> None:  # type: ignore[no-untyped-def]
    third = scenario[0][2][0]
    text = (Path(third.out_dir) / "report.md").read_text(encoding="utf-8")
    assert "Changes since the previous report\n" in text
    assert "none yet" in (Path(scenario[0][0][0].out_dir) / "report.md").read_text()
    assert "none yet" not in text


@pytest.mark.slow
def test_a_report_runs_history_is_small_and_replays(scenario) -> None:  # type: ignore[no-untyped-def]
    result, history, child = scenario[0][0]
    size = len(history.to_json().encode())
    print(f"\nreport run history: {size:,} bytes, {len(history.events)} events;"
          f" its fan-out child's: {child:,} bytes")  # fmt: skip
    assert size < HISTORY_BUDGET and 0 < child < HISTORY_BUDGET
    if RECORD:
        HISTORIES.mkdir(parents=True, exist_ok=True)
        (HISTORIES / FIXTURE).write_text(history.to_json(), encoding="utf-8")
    asyncio.run(Replayer(workflows=[LogAnalysisWorkflow]).replay_workflow(history))


def test_the_committed_report_history_replays() -> None:
    text = (HISTORIES / FIXTURE).read_text(encoding="utf-8")
    history = WorkflowHistory.from_json("report-fixture", json.loads(text))
    asyncio.run(Replayer(workflows=[LogAnalysisWorkflow]).replay_workflow(history))
