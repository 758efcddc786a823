"""Regenerate docs/screenshots/*.png: one screenshot of each dashboard page, in real Chromium.

    .venv/bin/python scripts/screenshots.py

Runs the browser walk (tests/app_pages/test_browser_walk.py: a Temporal dev
server, the runs worker, the gateway emulator and `streamlit run app.py`, all
on loopback) with its screenshots pointed at docs/screenshots/. Needs
Debian's Chromium.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "screenshots"


def main() -> int:
    TARGET.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, ATC_SCREENSHOT_DIR=str(TARGET), ATC_REQUIRE_BROWSER="1")
    argv = [sys.executable, "-m", "pytest", "tests/app_pages/test_browser_walk.py", "-q",
            "-p", "no:cacheprovider"]  # fmt: skip
    done = subprocess.run(argv, cwd=ROOT, env=env, check=False)
    print(f"screenshots in {TARGET.relative_to(ROOT)}/", file=sys.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
