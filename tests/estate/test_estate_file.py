"""The estate file: written whole, read back, stale ones (dead or foreign pid) ignored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from copilot.estate.estate_file import (
    estate_path,
    pid_alive,
    read_estate,
    remove_estate,
    running_estate,
    write_estate,
)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_written_estate_reads_back(tmp_path: Path) -> None:
    write_estate(tmp_path, {"pid": 1, "gateway": {"url": "http://127.0.0.1:1"}})
    assert read_estate(tmp_path) == {"pid": 1, "gateway": {"url": "http://127.0.0.1:1"}}
    assert not list(tmp_path.glob("*.tmp"))


def test_missing_or_garbled_file_reads_as_none(tmp_path: Path) -> None:
    assert read_estate(tmp_path) is None
    estate_path(tmp_path).write_text("{not json", encoding="utf-8")
    assert read_estate(tmp_path) is None


def test_an_estate_whose_pid_is_gone_is_not_running(tmp_path: Path) -> None:
    write_estate(tmp_path, {"pid": _dead_pid()})
    assert running_estate(tmp_path) is None


def test_a_live_pid_that_is_not_atc_up_is_not_running(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        write_estate(tmp_path, {"pid": sleeper.pid})
        assert pid_alive(sleeper.pid)
        assert running_estate(tmp_path) is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_remove_leaves_another_owners_file(tmp_path: Path) -> None:
    write_estate(tmp_path, {"pid": os.getpid() + 1})
    remove_estate(tmp_path, os.getpid())
    assert read_estate(tmp_path) is not None
    remove_estate(tmp_path, os.getpid() + 1)
    assert read_estate(tmp_path) is None
