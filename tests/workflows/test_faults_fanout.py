"""Fan-out analysis on a real dev server with real worker processes, under faults.

Two ``python -m workflows.fanout.worker`` processes share the partitions of
one run (each activity result names the process that read it); a worker
that dies hard in the middle of a partition (a failpoint ends it with
``os._exit(137)``, what ``kill -9`` looks like, right after its first chunk's
heartbeat) loses that partition only: another worker reads it again after
the heartbeat timeout and the merged result is the single pass's, byte for
byte. ``atc suggest --temporal`` (partitions that also collect their
requests, one activity that builds the advice) prints what ``atc suggest``
prints, and survives the same kill. A partition is read in checkpointed pieces:
a worker killed after some pieces loses only the piece it was reading, the next
attempt going on from the pieces its last heartbeat listed. Partials travel by reference: a run's
history stays a few kilobytes while the partials on disk are far larger.
"""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from temporalio.client import Client

from copilot.cli import run as cli
from copilot.pipeline import analyze_paths
from copilot.throttling.run import collected_attrs, suggest_paths
from tests.fanout.estates import atc_sample, canonical
from tests.workflows.devserver import DevServer, WorkerProcess, estate_fixture, worker_env
from workflows.fanout.shared import FanoutInput, FanoutResult
from workflows.fanout.starter import fanout_input, history_bytes, run_fanout

pytestmark = pytest.mark.slow
HEARTBEAT_S = 3.0


class FanoutWorker(WorkerProcess):
    """``python -m workflows.fanout.worker`` (or ``atc worker fanout``), polling."""

    def __init__(self, env: dict[str, str], log: Path, *, cli: bool = False) -> None:
        argv = ["-m", "copilot.cli", "worker", "fanout"] if cli else None
        super().__init__(env, log, "workflows.fanout.worker", argv=argv)
        self.wait_for("atc fanout worker: polling")


class Estate:
    def __init__(self, server: DevServer, tmp: Path) -> None:
        self.server, self.tmp = server, tmp
        self.data, self.queue = tmp / "data", f"atc-fanout-{uuid.uuid4().hex[:8]}"
        self.shared = tmp / "shared"
        self.workers: list[FanoutWorker] = []

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()

    def env(self, **extra: str) -> dict[str, str]:
        return worker_env(self.server, self.data, "unused", ATC_FANOUT_TASK_QUEUE=self.queue,
                          **extra)  # fmt: skip

    def worker(self, *, cli: bool = False, **extra: str) -> FanoutWorker:
        log = self.tmp / f"worker-{len(self.workers)}.log"
        self.workers.append(FanoutWorker(self.env(**extra), log, cli=cli))
        return self.workers[-1]

    def data_for(self, logs: list[Path], partitions: int, **more: object) -> FanoutInput:
        return fanout_input(
            logs, self.shared, partitions=partitions, heartbeat_s=HEARTBEAT_S, **more
        )

    def use_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point ``atc`` run in this process at the dev server and this estate's queue."""
        for key, value in self.env().items():
            if key.startswith("ATC_"):
                monkeypatch.setenv(key, value)


estate = estate_fixture(Estate)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three daily exports from ``atc sample`` (about 40,000 rows each)."""
    root = tmp_path_factory.mktemp("logs")
    files = []
    for day in ("2026-11-16", "2026-11-17", "2026-11-18"):
        files.append(root / f"{day}.csv")
        atc_sample(files[-1], "--days", "1", "--seed", "8", "--rows", "40000", "--start", day)
    return files


def _run(estate: Estate, data: FanoutInput) -> tuple[FanoutResult, dict, int]:
    async def go() -> tuple[FanoutResult, dict, int]:
        client = await Client.connect(estate.server.address)
        result, body, handle = await run_fanout(client, data, estate.queue)
        return result, body, await history_bytes(handle)

    return asyncio.run(go())


def test_two_workers_share_the_partitions_and_the_result_is_one_pass(
    estate: Estate, logs: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = estate.worker(), estate.worker(cli=True)  # the second as `atc worker fanout`
    result, body, history = _run(estate, estate.data_for(logs, 8))
    assert canonical(body) == canonical(analyze_paths(logs))
    readers = {ref.worker for ref in result.partitions}
    assert readers == {first.identity, second.identity}  # both processes read partitions
    assert len(result.partitions) >= 8 and all(r.attempt == 1 for r in result.partitions)
    # By reference: the history is small next to what the partials hold.
    partial_bytes = sum(ref.bytes for ref in result.partitions)
    per_partition = history / len(result.partitions)
    with capsys.disabled():
        print(f"\nfan-out history {history:,} B for {len(result.partitions)} partitions "
              f"({per_partition:,.0f} B each); partials {partial_bytes:,} B; "
              f"merged document {result.merged.bytes:,} B")  # fmt: skip
    assert history < partial_bytes / 10 and history < result.merged.bytes
    assert per_partition < 4096


@pytest.mark.parametrize("command", ["analyze", "suggest"])
def test_a_worker_killed_mid_partition_loses_only_that_partition(
    estate: Estate, logs: list[Path], command: str
) -> None:
    doomed = estate.worker(ATC_FAILPOINTS="fanout.partition.chunk1")
    survivor = estate.worker()
    collect = {"collect": list(collected_attrs())} if command == "suggest" else {}
    data = estate.data_for(logs, 6, **collect)

    async def go() -> FanoutResult:
        client = await Client.connect(estate.server.address)
        task = asyncio.create_task(run_fanout(client, data, estate.queue))
        assert await asyncio.to_thread(doomed.proc.wait, 180) == 137  # died inside a partition
        result, body, _ = await task
        bodies.append(body)
        return result

    bodies: list[dict] = []
    result = asyncio.run(go())
    if command == "suggest":
        single = {**suggest_paths(logs).to_dict(), "policies_out": {}}
    else:
        single = analyze_paths(logs).to_dict()
    assert canonical(bodies[0]) == canonical(single)  # nothing lost, nothing twice
    retried = [ref for ref in result.partitions if ref.attempt > 1]
    assert retried and all(ref.worker == survivor.identity for ref in retried)
    assert len({ref.partition for ref in result.partitions}) == len(result.partitions)


@pytest.mark.parametrize("command", ["analyze", "suggest"])
def test_a_worker_killed_after_some_pieces_loses_only_the_piece_it_was_reading(
    estate: Estate, logs: list[Path], command: str
) -> None:
    # The failpoint waits past the heartbeat throttle, so the server has heard of the
    # third piece when the process dies; the next attempt must not read those again.
    doomed = estate.worker(ATC_FAILPOINTS=f"fanout.partition.piece3@{HEARTBEAT_S * 1.5}")
    collect = {"collect": list(collected_attrs())} if command == "suggest" else {}
    data = estate.data_for(logs, 0, piece_bytes=logs[0].stat().st_size // 8, **collect)

    async def go() -> tuple[FanoutResult, dict]:
        client = await Client.connect(estate.server.address)
        task = asyncio.create_task(run_fanout(client, data, estate.queue))
        assert await asyncio.to_thread(doomed.proc.wait, 180) == 137  # died after piece 3
        estate.worker()  # the survivor starts only now: every earlier piece was the doomed one's
        result, body, _ = await task
        return result, body

    result, body = asyncio.run(go())
    if command == "suggest":
        single = {**suggest_paths(logs).to_dict(), "policies_out": {}}
    else:
        single = analyze_paths(logs).to_dict()
    assert canonical(body) == canonical(single)  # nothing lost, nothing twice
    assert len({ref.piece for ref in result.partitions}) == len(result.partitions)
    resumed = {ref.partition for ref in result.partitions if ref.attempt > 1}
    assert resumed
    for name in resumed:
        mine = [ref for ref in result.partitions if ref.partition == name]
        kept = [ref for ref in mine if ref.attempt == 1]
        # The pieces the doomed worker finished and reported are kept, in front, not re-read.
        assert len(kept) >= 3 and all(ref.worker == doomed.identity for ref in kept)
        assert mine[: len(kept)] == kept and len(mine) > len(kept)
    assert result.retried() == len(resumed)


def test_atc_analyze_temporal_prints_what_atc_analyze_prints(
    estate: Estate, logs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    estate.worker()
    estate.use_env(monkeypatch)

    def atc(*argv: str) -> str:
        out = io.StringIO()
        with redirect_stdout(out):
            assert cli(["analyze", *map(str, logs), *argv]) == 0
        return out.getvalue()

    fanned = atc("--json", "--temporal", "--partitions", "5", "--shared-dir", str(estate.shared))
    assert canonical(json.loads(fanned)) == canonical(json.loads(atc("--json")))
    assert atc("--temporal") == atc()  # the text summary too
    assert not any((estate.shared / "runs").iterdir())  # run directories are removed once read


def test_atc_suggest_temporal_prints_what_atc_suggest_prints(
    estate: Estate, logs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    estate.worker()
    estate.use_env(monkeypatch)
    shared = ("--shared-dir", str(estate.shared))

    def atc(*argv: str) -> str:
        out = io.StringIO()
        with redirect_stdout(out):
            assert cli(["suggest", *map(str, logs), *argv]) == 0
        return out.getvalue()

    fanned = atc("--json", "--temporal", "--partitions", "5", *shared)
    assert json.loads(fanned)["suggestions"]  # advice to compare
    assert canonical(json.loads(fanned)) == canonical(json.loads(atc("--json")))
    assert atc("--temporal", "--headroom", "2", *shared) == atc("--headroom", "2")  # the text too
    assert not any((estate.shared / "runs").iterdir())  # run directories are removed once read


def test_atc_analyze_temporal_without_a_worker_says_so_at_once(
    estate: Estate, logs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    estate.use_env(monkeypatch)
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli(["analyze", str(logs[0]), "--temporal", "--json"])
    body = json.loads(out.getvalue())
    assert code == 1 and body["ok"] is False
    assert "no worker polls task queue" in body["error"] and estate.queue in body["error"]
