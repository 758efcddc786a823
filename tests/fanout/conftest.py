"""Fixtures the fan-out tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fanout.estates import atc_sample


@pytest.fixture(scope="module")
def one_day_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One day of ``atc sample`` traffic as analytics JSON lines (8,000 rows)."""
    path = tmp_path_factory.mktemp("one-day") / "day.jsonl"
    atc_sample(path, "--days", "1", "--seed", "4", "--rows", "8000", "--format", "analytics-jsonl")
    return path
