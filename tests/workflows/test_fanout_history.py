"""Fan-out runs recorded once replay against today's workflow code: an upgrade of atc never
breaks a fan-out run that is in flight (analysis, and advice with its requests collected).

The histories are real runs of ``FanoutAnalysisWorkflow`` on the time-skipping test server
with an in-process worker, over a generated estate cut into several partitions and pieces.
A change to the workflow that would break replay fails here; if it is intended, give the new
code path a ``workflow.patched`` branch, then re-record with ``ATC_RECORD_HISTORIES=1``.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from copilot.throttling.run import collected_attrs
from tests.paths import HISTORIES
from tests.reports.logs import generated
from workflows.fanout.shared import FanoutInput, FanoutResult
from workflows.fanout.worker import fanout_worker
from workflows.fanout.workflows import FanoutAnalysisWorkflow
from workflows.runtime.dryrun_child import find_test_server

RECORD = os.environ.get("ATC_RECORD_HISTORIES") == "1"
FIXTURES = {"analyze": "fanout_analyze.json", "suggest": "fanout_suggest.json"}
QUEUE = "atc-fanout-history"


async def _record(tmp: Path) -> dict[str, tuple[FanoutResult, WorkflowHistory]]:
    logs = tmp / "logs"
    logs.mkdir()
    paths = []
    for day in (1, 2):
        generated(logs / f"day-{day}.csv", seed=day)
        paths.append(str(logs / f"day-{day}.csv"))
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_test_server()
    )
    out = {}
    async with env:
        with ThreadPoolExecutor(4) as pool:
            async with fanout_worker(env.client, QUEUE, pool, 2):
                for kind in FIXTURES:
                    data = FanoutInput(
                        paths, str(tmp / "shared"), partitions=3, piece_bytes=1 << 20,
                        collect=list(collected_attrs()) if kind == "suggest" else None,
                    )  # fmt: skip
                    handle = await env.client.start_workflow(
                        FanoutAnalysisWorkflow.run, data, id=f"history-{uuid.uuid4().hex[:8]}",
                        task_queue=QUEUE,
                    )  # fmt: skip
                    out[kind] = (await handle.result(), await handle.fetch_history())
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return asyncio.run(_record(tmp_path_factory.mktemp("fanout-history")))


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(FIXTURES))
def test_a_fresh_fanout_run_replays_and_cuts_the_estate(runs: dict, kind: str) -> None:
    result, history = runs[kind]
    assert len(result.partitions) > 2  # partitions, and pieces within them
    if RECORD:
        HISTORIES.mkdir(parents=True, exist_ok=True)
        (HISTORIES / FIXTURES[kind]).write_text(history.to_json(), encoding="utf-8")
    asyncio.run(Replayer(workflows=[FanoutAnalysisWorkflow]).replay_workflow(history))


@pytest.mark.parametrize("kind", list(FIXTURES))
def test_the_committed_fanout_history_replays(kind: str) -> None:
    text = (HISTORIES / FIXTURES[kind]).read_text(encoding="utf-8")
    history = WorkflowHistory.from_json(f"fanout-{kind}", json.loads(text))
    asyncio.run(Replayer(workflows=[FanoutAnalysisWorkflow]).replay_workflow(history))
