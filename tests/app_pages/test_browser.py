"""The dashboard, served by `streamlit run app.py` as `make run` does, seen in a real browser.

Needs Debian's Chromium (`.ci/run` installs it); without it the test skips,
unless ATC_REQUIRE_BROWSER is set, when it fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if CHROMIUM is None:
        if os.environ.get("ATC_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (ATC_REQUIRE_BROWSER is set) but not installed")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    port = _free_port()
    env = dict(os.environ, ATC_DATA_DIR=str(tmp_path_factory.mktemp("data")))
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
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


def test_traffic_page_shows_the_sample_in_chromium(dashboard: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(dashboard)
        page.wait_for_selector("[data-testid=stMetric]", timeout=90_000)
        page.wait_for_selector("[data-testid=stVegaLiteChart]", timeout=60_000)
        text = page.inner_text("body")
        page.screenshot(path=str(tmp_path / "traffic.png"), full_page=True)
        assert page.locator("[data-testid=stException]").count() == 0
        browser.close()
    assert "Traffic" in text and "Records" in text and "Anomalies" in text
    assert re.search(r"Records\s+[\d,]{6,}", text), "the records metric shows the sample's count"
