"""Shared set-up for the page tests: a fresh data directory and a Temporal address nobody serves."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.paths import ROOT
from tests.workflows.devserver import free_port


@pytest.fixture
def page_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ATC_DATA_DIR in tmp, Temporal pointed at a closed loopback port; returns the data dir."""
    for name in ("ATC_GATEWAY_URL", "ATC_LLM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ATC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ATC_TEMPORAL_ADDRESS", f"127.0.0.1:{free_port()}")
    monkeypatch.chdir(ROOT)
    return tmp_path / "data"


def page(name: str, timeout: float = 120) -> AppTest:
    return AppTest.from_file(str(ROOT / name), default_timeout=timeout)
