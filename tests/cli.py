"""Running `atc` from a test: in this process, or as a child process like a shell runs it.

In process is fast and lets a test read what was printed; a child process proves the
console contract end to end (exit code, stdout, stderr, nothing left behind).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from copilot.cli import run


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`atc ARGV...` in this process: exit code, stdout, stderr."""
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def atc(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`atc ARGS...` in a child process, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-c", "from copilot.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
