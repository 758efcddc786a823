"""Report runs on a real dev server under faults, and the ``atc reports`` command.

A reports worker killed hard in the middle of a partition of the report's
fan-out analysis (a failpoint ends it with ``os._exit(137)`` after a
partition's first chunk) is replaced by a new one that reads the lost
partitions again: the report is delivered once (one directory, one webhook
POST, its files marked read), and equals the report of a single pass over the
same files. A dev server stopped while a schedule is due and started again
catches the run up exactly once.
"""

from __future__ import annotations

import asyncio
import io
import json
import signal
import time
import uuid
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, ScheduleIntervalSpec, ScheduleSpec

from copilot.cli import run as cli
from copilot.config import Settings
from copilot.reports import content, csvs, markdown, narrative
from copilot.reports.documents import report_documents
from copilot.reports.escape import md_text
from copilot.runs.approved import TYPE_PREFIX
from copilot.scopes.server import BackgroundServer
from copilot.throttling.run import suggest_paths
from tests.reports.logs import generated
from tests.reports.receiver import Receiver
from tests.workflows.devserver import DevServer, WorkerProcess, estate_fixture, worker_env
from workflows.reports.shared import ReportInput, ReportResult, schedule_id
from workflows.reports.starter import schedule_report
from workflows.reports.workflows import LogAnalysisWorkflow

pytestmark = pytest.mark.slow
RUNS_HEADING = "## Failed runs"


class ReportsWorker(WorkerProcess):
    """``python -m workflows.reports.worker``, polling."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        super().__init__(env, log, "workflows.reports.worker")
        self.wait_for("atc reports worker: polling")


class Estate:
    def __init__(self, server: DevServer, tmp: Path) -> None:
        self.server, self.tmp = server, tmp
        self.data, self.queue = tmp / "data", f"atc-reports-{uuid.uuid4().hex[:8]}"
        self.workers: list[ReportsWorker] = []
        self.settings = Settings(data_dir=self.data, temporal_address=server.address,
                                 reports_task_queue=self.queue)  # fmt: skip

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()

    def env(self, **extra: str) -> dict[str, str]:
        return worker_env(self.server, self.data, "unused", ATC_REPORTS_TASK_QUEUE=self.queue,
                          **extra)  # fmt: skip

    def worker(self, **extra: str) -> ReportsWorker:
        log = self.tmp / f"worker-{len(self.workers)}.log"
        self.workers.append(ReportsWorker(self.env(**extra), log))
        return self.workers[-1]


estate = estate_fixture(Estate)


@pytest.fixture(scope="module")
def big_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain CSV of 520,000 rows (``atc sample --days 3 --rows 520000``) and a small day.

    Asked for 2 partitions, the planner cuts the big file into two byte ranges of
    two 250,000-row chunks each (the small gzipped day is a third partition), so
    the failpoint after a partition's first chunk is mid-partition.
    """
    logs = tmp_path_factory.mktemp("big")
    generated(logs / "big.csv", days=3, seed=5, rows=520_000)
    generated(logs / "day-1.csv.gz", seed=3)
    return logs


def _expected_files(docs: dict[str, Any], name: str) -> dict[str, str]:
    """The report rendered from a single pass's documents."""
    report = content.build(name, docs["analysis"], docs["suggest"], docs["series"], None, [], None)
    report.narrative = narrative.offline(report)
    return {"report.md": markdown.render(report), **csvs.render(report)}


def test_a_worker_killed_mid_partition_still_delivers_the_report_once(
    estate: Estate, big_logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = estate.worker(ATC_FAILPOINTS="fanout.partition.chunk1")
    receiver = Receiver()

    async def go(hook: str) -> list[ReportResult]:
        client = await Client.connect(estate.server.address)
        data = ReportInput("resumed", str(big_logs), ["md", "csv"], hook, partitions=2)
        handle = await client.start_workflow(
            LogAnalysisWorkflow.run, data,
            id=f"report-resumed-{uuid.uuid4().hex[:6]}", task_queue=estate.queue,
        )  # fmt: skip
        assert await asyncio.to_thread(first.proc.wait, 180) == 137  # died inside a partition
        died = time.monotonic()
        estate.worker()
        result = await handle.result()
        delivered.append(time.monotonic() - died)
        again = await client.execute_workflow(
            LogAnalysisWorkflow.run, data,
            id=f"report-again-{uuid.uuid4().hex[:6]}", task_queue=estate.queue,
        )  # fmt: skip
        return [result, again]

    delivered: list[float] = []
    with BackgroundServer(receiver.app) as hook:
        result, again = asyncio.run(go(hook.url + "/hook"))
    with capsys.disabled():
        print(
            f"\nreport delivered {delivered[0]:.1f} s after its worker died mid-partition"
            f" ({result.partitions} partitions, {result.partitions_retried} read again)"
        )
    assert result.status == "delivered" and result.partitions == 3
    single = report_documents(suggest_paths(sorted(str(p) for p in big_logs.iterdir())))
    assert result.partitions_retried >= 1 and result.records == single["analysis"]["records"]
    assert again.status == "no new logs"  # the files were marked read, once
    assert len(receiver.posts) == 1
    root = estate.data / "reports" / "resumed"
    assert [p.name for p in root.iterdir() if p.name[0].isdigit()] == [Path(result.out_dir).name]
    assert not any((root / ".work").iterdir())  # the partials went with the delivery
    out = Path(result.out_dir or "")
    for name, body in _expected_files(single, "resumed").items():
        # Failed runs come from the server (other tests' runs), not from the logs.
        got = (out / name).read_text(encoding="utf-8").split(RUNS_HEADING)[0]
        assert got == body.split(RUNS_HEADING)[0], name


def _due_in(seconds: int) -> tuple[datetime, ScheduleSpec]:
    """An hourly schedule whose next slot is ``seconds`` from now."""
    due = (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)
    offset = timedelta(seconds=int(due.timestamp()) % 3600)
    return due, ScheduleSpec(
        intervals=[ScheduleIntervalSpec(every=timedelta(hours=1), offset=offset)]
    )


def test_a_schedule_due_while_the_server_is_down_runs_once_after_restart(
    estate: Estate, server: DevServer
) -> None:
    logs = estate.tmp / "logs"
    logs.mkdir()
    generated(logs / "day-1.csv.gz", seed=3)
    estate.worker()
    data = ReportInput("restart", str(logs), ["md"])

    async def create() -> datetime:
        client = await Client.connect(server.address)
        due, spec = _due_in(8)  # after connecting: a slow first connect must not eat the slot
        await schedule_report(client, estate.settings, data, spec, timedelta(hours=1))
        created = (await client.get_schedule_handle(schedule_id("restart")).describe()).info
        assert created.created_at < due and created.next_action_times[0] == due
        return due

    due = asyncio.run(create())
    server.stop()
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 4)
    server.start()

    async def settle() -> list[Any]:
        client = await Client.connect(server.address)
        handle = client.get_schedule_handle(schedule_id("restart"))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            desc = await handle.describe()
            if desc.info.recent_actions and not desc.info.running_actions:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # a duplicate start would show up in this time
        desc = await handle.describe()
        runs = [w async for w in client.list_workflows("WorkflowId STARTS_WITH 'report-restart'")]
        await handle.delete()
        return [desc, runs]

    desc, runs = asyncio.run(settle())
    assert [a.scheduled_at.replace(microsecond=0) for a in desc.info.recent_actions] == [due]
    assert desc.info.num_actions == 1 and len(runs) == 1
    delivered = [p for p in (estate.data / "reports" / "restart").iterdir() if p.name[0].isdigit()]
    assert len(delivered) == 1


def _atc(*argv: str) -> dict[str, Any]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli([*argv, "--json"])
    body = json.loads(out.getvalue())
    assert code == 0, body
    return body


async def _a_failed_run(estate: Estate) -> str:
    """A run of an approved draft that ended badly (terminated; no worker polls its queue)."""
    client = await Client.connect(estate.server.address)
    run_id = f"run-reports-{uuid.uuid4().hex[:6]}"
    handle = await client.start_workflow(
        f"{TYPE_PREFIX}reports-test", id=run_id, task_queue=f"{estate.queue}-nobody"
    )
    await handle.terminate("for the report test")
    return run_id


def test_the_reports_command_schedules_runs_shows_and_deletes(
    estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = estate.tmp / "cli-logs"
    logs.mkdir()
    generated(logs / "day-1.csv.gz", seed=3)
    estate.worker()
    for key, value in estate.env().items():
        if key.startswith("ATC_"):
            monkeypatch.setenv(key, value)
    made = _atc("reports", "schedule", "cli", "--logs", str(logs), "--every", "24h",
                "--formats", "md,csv")  # fmt: skip
    assert made["schedule_id"] == "atc-report-cli" and made["settings"]["formats"] == ["md", "csv"]
    assert len(made["next_runs"]) >= 1
    failed = asyncio.run(_a_failed_run(estate))
    ran = _atc("reports", "run", "cli", "--wait")
    assert ran["status"] == "delivered" and "report.md" in ran["files"]
    text = (Path(ran["out_dir"]) / "report.md").read_text(encoding="utf-8")
    assert md_text(failed) in text.split("## Failed runs")[1]
    shown = _atc("reports", "show", "cli")
    assert shown["results"][0]["dir"] == ran["out_dir"]
    assert "cli" in [r["name"] for r in _atc("reports", "list")["reports"]]
    assert _atc("reports", "delete", "cli")["deleted"] is True
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli(["reports", "show", "cli", "--json"]) == 2
    assert "no report schedule" in json.loads(out.getvalue())["error"]


def test_sigterm_stops_the_reports_worker_gracefully(estate: Estate) -> None:
    worker = estate.worker()
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(90) == 0
    log = worker.log.read_text(errors="replace")
    assert "atc reports worker: stopping" in log and "atc reports worker: stopped" in log
