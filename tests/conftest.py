"""Shared fixtures and the exit-crash guard (see tests/run.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.paths import FIXTURES


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ.get("ATC_PYTEST_STATUS_FILE")
    if path:
        Path(path).write_text(str(int(exitstatus)), encoding="utf-8")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # End the process before interpreter teardown, where temporalio's native
    # threads may crash it; the status recorded above is pytest's own.
    path = os.environ.get("ATC_PYTEST_STATUS_FILE")
    if path and Path(path).exists():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(Path(path).read_text(encoding="utf-8")))
