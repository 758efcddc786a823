"""Failpoints end the process with 137 only when armed, after the delay asked for."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.paths import ROOT

PROGRAM = "from copilot import failpoints; failpoints.hit('a.b'); print('went on')"


@pytest.mark.parametrize(
    ("armed", "code", "printed"),
    [
        ("", 0, "went on\n"),
        ("other", 0, "went on\n"),
        ("x, a.b", 137, ""),
        ("a.b@0.3", 137, ""),
    ],
)
def test_a_failpoint_ends_the_process_only_when_armed(armed: str, code: int, printed: str) -> None:
    env = {"ATC_FAILPOINTS": armed, "PATH": "/usr/bin:/bin"}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", PROGRAM], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert (proc.returncode, proc.stdout) == (code, printed)
    if "@" in armed:
        assert time.monotonic() - started >= 0.3  # waited first (a lower bound, not a timing)
