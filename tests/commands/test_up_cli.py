"""`atc up` as a user runs it: a subprocess on free ports with its own data directory.

One full estate (dev server, workers, gateway, dashboard) serves the module:
`atc status` sees it all up, a second `atc up` refuses, SIGTERM stops every
child (checked by pid). Cheaper estates (no workers, no dashboard) show an
external Temporal address and a dying child.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.workflows.devserver import free_port

pytestmark = pytest.mark.slow  # starts Temporal, workers, the gateway and the dashboard

FREE_PORTS = ["--port", "0", "--gateway-port", "0"]


def _env(data: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("ATC_")}
    return {**keep, "ATC_DATA_DIR": str(data), **extra}


def _atc(*argv: str) -> list[str]:
    return [sys.executable, "-m", "copilot.cli", *argv]


def alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class Up:
    """One `atc up` process with stdout and stderr in files."""

    def __init__(self, tmp: Path, *argv: str, **env: str) -> None:
        self.data, self.out, self.err = tmp / "data", tmp / "up.out", tmp / "up.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                _atc("up", "--json", *argv), cwd=tmp, env=_env(self.data, **env),
                stdout=out, stderr=err,
            )  # fmt: skip

    def wait_up(self, timeout_s: float = 240.0) -> dict[str, Any]:
        """The estate document once `atc up` printed it (all parts ready)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = self.out.read_text()
            if text.strip().endswith("}"):
                return json.loads(text)
            if self.proc.poll() is not None:
                break
            time.sleep(0.3)
        raise AssertionError(f"atc up did not come up: {self.err.read_text()[-3000:]}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(120)


def pids(doc: dict[str, Any]) -> list[int]:
    parts = [doc["temporal"], doc["gateway"], doc["dashboard"] or {}, *doc["workers"]]
    return [int(p["pid"]) for p in parts if p.get("pid")]


def status(data: Path, **env: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        _atc("status", "--json"), cwd=data.parent, env=_env(data, **env),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout)


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Up, dict[str, Any]]]:
    up = Up(tmp_path_factory.mktemp("up"), *FREE_PORTS, "--temporal-port", "0")
    try:
        yield up, up.wait_up()
    finally:
        up.stop()


def test_status_sees_temporal_the_drafting_worker_the_gateway_and_the_dashboard(
    estate: tuple[Up, dict[str, Any]],
) -> None:
    up, doc = estate
    assert doc["temporal"]["started"] and Path(doc["temporal"]["db"]) == up.data / "temporal.db"
    for _ in range(20):  # the first poll may reach the server a moment after "polling"
        code, report = status(up.data)
        drafting = next(w for w in report["workers"] if w["kind"] == "drafting")
        if drafting["polling"]:
            break
        time.sleep(0.5)
    assert code == 0 and report["ok"] is True
    assert report["estate"]["running"] and report["estate"]["pid"] == up.proc.pid
    assert report["temporal"]["up"] and report["temporal"]["address"] == doc["temporal"]["address"]
    assert drafting["polling"] and drafting["task_queues"] == ["atc"]
    assert report["gateway"]["up"] and report["gateway"]["url"] == doc["gateway"]["url"]
    assert report["dashboard"]["up"] and report["dashboard"]["http_status"] == 200
    assert report["bridge"] == {"configured": False, "detail": "not configured"}
    assert report["schedules"]["listed"] is True


def test_a_second_up_on_the_same_data_dir_refuses_and_names_the_first(
    estate: tuple[Up, dict[str, Any]],
) -> None:
    up, _ = estate
    done = subprocess.run(
        _atc("up", *FREE_PORTS), cwd=up.data.parent, env=_env(up.data),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"InputError: atc up already runs for {up.data} (pid {up.proc.pid})"
    )
    assert len(done.stderr.strip().splitlines()) == 1
    assert up.proc.poll() is None


def test_sigterm_stops_every_child_it_started(estate: tuple[Up, dict[str, Any]]) -> None:
    up, doc = estate
    started = pids(doc)
    assert len(started) >= 4 and all(alive(pid) for pid in started)
    assert up.stop() == 0
    assert [pid for pid in started if alive(pid)] == []
    assert not (up.data / "estate.json").exists()


def test_an_external_temporal_address_starts_no_dev_server(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    up = Up(tmp_path, *FREE_PORTS, "--no-workers", "--no-dashboard", ATC_TEMPORAL_ADDRESS=address)
    try:
        doc = up.wait_up()
    finally:
        code = up.stop()
    assert code == 0
    assert doc["temporal"] == {"address": address, "namespace": "default", "started": False}
    assert not (up.data / "temporal.db").exists()
    assert "no dev server" in up.err.read_text()
    assert not (up.data / "logs" / "temporal.log").exists()


def test_a_child_that_dies_stops_the_rest_and_exits_1(tmp_path: Path) -> None:
    up = Up(tmp_path, *FREE_PORTS, "--temporal-port", "0", "--no-workers", "--no-dashboard")
    try:
        doc = up.wait_up()
        os.kill(doc["gateway"]["pid"], signal.SIGKILL)
        code = up.proc.wait(120)
    finally:
        up.stop()
    assert code == 1
    assert "gateway exited with code -9" in up.err.read_text()
    assert not alive(doc["temporal"]["pid"])
    assert not (up.data / "estate.json").exists()
