"""What the real-browser tests share: Chromium, its flags, and the dashboard served on loopback.

Needs Debian's Chromium (`.ci/run` installs it); without it a browser test skips,
unless ATC_REQUIRE_BROWSER is set, when it fails instead (docs/testing.md).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.paths import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> str:
    """Chromium's path; skips without it, or fails when ATC_REQUIRE_BROWSER is set."""
    if CHROMIUM is None:
        if os.environ.get("ATC_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (ATC_REQUIRE_BROWSER is set) but not installed")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_dashboard(env: dict[str, str], log: Path | None = None) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port, as `make run` serves it; yields its URL."""
    port = _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port),
           "--browser.gatherUsageStats", "false"]  # fmt: skip
    out = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if log:
            out.close()  # type: ignore[union-attr]
