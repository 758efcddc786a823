"""Children: ready by their log, a death while starting reported, every group member stopped."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from copilot.errors import ExternalError
from copilot.estate.supervisor import ChildSpec, Supervisor, group_members, log_says

pytestmark = pytest.mark.slow  # real child processes

# A child that starts a grandchild, reports both pids, says it is ready and waits.
FAMILY = (
    "import subprocess, sys, time\n"
    "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
    "print('grandchild', g.pid, flush=True)\n"
    "print('ready', flush=True)\n"
    "time.sleep(300)\n"
)


def _spec(code: str, name: str = "child") -> ChildSpec:
    return ChildSpec(name, [sys.executable, "-c", code], dict(os.environ), log_says("ready"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_stop_all_ends_each_child_and_what_it_started(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path)
    child = sup.start(_spec(FAMILY))
    grandchild = int(child.log.read_text().split("grandchild ")[1].split()[0])
    assert set(group_members(child.pid)) >= {child.pid, grandchild}
    sup.stop_all(grace_s=10)
    assert not _alive(child.pid) and not _alive(grandchild)


def test_a_child_dying_while_starting_is_reported_with_its_log(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path)
    with pytest.raises(ExternalError, match=r"broken exited with code 3 .*boom"):
        sup.start(_spec("import sys; print('boom', flush=True); sys.exit(3)", "broken"))


def test_wait_returns_the_child_that_died(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path)
    first = sup.start(_spec("import time; print('ready', flush=True); time.sleep(300)", "a"))
    second = sup.start(_spec("import time; print('ready', flush=True); time.sleep(1)", "b"))
    try:
        assert sup.wait(poll_s=0.1) is second
        assert first.proc.poll() is None
    finally:
        sup.stop_all(grace_s=10)


def test_wait_returns_none_once_asked_to_stop(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path)
    sup.start(_spec("import time; print('ready', flush=True); time.sleep(300)"))
    threading.Timer(0.2, sup.stop.set).start()
    try:
        assert sup.wait(poll_s=0.05) is None
    finally:
        sup.stop_all(grace_s=10)
