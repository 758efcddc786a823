"""Starting, watching and stopping the estate's child processes.

Each child runs in its own session (process group), with its output in a log
file: Ctrl-C in the terminal then reaches only ``atc up``, which stops the
children in reverse order of start (dashboard and workers before the
Temporal server they talk to): SIGTERM to the child, then what is left of
its group gets SIGTERM and finally SIGKILL. Only processes this supervisor
started (and their descendants in its groups) are ever signalled.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from copilot.errors import ExternalError

ReadyCheck = Callable[[Path], bool]
STOP_GRACE_S = 30.0


@dataclass(frozen=True)
class ChildSpec:
    """What to run, how to tell it is ready, and where it listens."""

    name: str
    argv: list[str]
    env: dict[str, str]
    ready: ReadyCheck
    url: str | None = None
    ready_timeout_s: float = 120.0


@dataclass
class Child:
    """A started child process with its log file."""

    spec: ChildSpec
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, chars: int = 600) -> str:
        """The end of its log, on one line, for error messages."""
        try:
            text = self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""
        return " | ".join(line for line in text.splitlines() if line.strip())


def log_says(text: str) -> ReadyCheck:
    """Ready once the child's log contains ``text``."""
    return lambda log: log.exists() and text in log.read_text(errors="replace")


def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def listening(host: str, port: int) -> ReadyCheck:
    """Ready once ``host:port`` accepts connections."""
    return lambda _log: port_open(host, port)


def http_ok(url: str) -> ReadyCheck:
    """Ready once ``url`` answers HTTP 200."""

    def check(_log: Path) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:  # noqa: S310 - loopback
                return response.status == 200
        except OSError:
            return False

    return check


@dataclass
class Supervisor:
    """Children started so far, in start order; stops them all on :meth:`stop_all`."""

    log_dir: Path
    stop: threading.Event = field(default_factory=threading.Event)
    children: list[Child] = field(default_factory=list)

    def start(self, spec: ChildSpec) -> Child:
        """Start ``spec`` and wait until it is ready; ExternalError if it dies or stalls."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{spec.name.replace(':', '-')}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                spec.argv,
                env=spec.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        child = Child(spec, proc, log)
        self.children.append(child)
        deadline = time.monotonic() + spec.ready_timeout_s
        while not spec.ready(log):
            if proc.poll() is not None:
                raise ExternalError(
                    f"{spec.name} exited with code {proc.returncode} while starting "
                    f"(log {log}): {child.tail()}"
                )
            if self.stop.is_set():
                raise ExternalError(f"stopped while {spec.name} was starting")
            if time.monotonic() > deadline:
                raise ExternalError(
                    f"{spec.name} was not ready after {spec.ready_timeout_s:.0f} s "
                    f"(log {log}): {child.tail()}"
                )
            time.sleep(0.2)
        return child

    def exited(self) -> Child | None:
        """The first child that has exited, if any."""
        return next((c for c in self.children if c.proc.poll() is not None), None)

    def wait(self, poll_s: float = 0.5) -> Child | None:
        """Block until ``stop`` is set (None) or a child exits (that child)."""
        while not self.stop.wait(poll_s):
            child = self.exited()
            if child is not None:
                return child
        return None

    def stop_all(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop every child, newest first: SIGTERM its group, SIGKILL after ``grace_s``."""
        for child in reversed(self.children):
            _stop_group(child.proc, grace_s)


def _stop_group(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    # The leader first, alone: a worker's graceful stop lets its running activities
    # (and the processes they started) finish. Whatever of its group is left after
    # that gets SIGTERM, then SIGKILL.
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    # While any member lives, Linux keeps the group id from being reused, so a
    # group with members is still the one we started.
    for sig, wait_s in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 10.0)):
        if not group_members(proc.pid):
            return
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        deadline = time.monotonic() + wait_s
        while group_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)


def group_members(pgid: int) -> list[int]:
    """Pids whose process group is ``pgid`` (empty where there is no /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the command name: state, ppid, pgrp, ...; a zombie is already gone.
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members
