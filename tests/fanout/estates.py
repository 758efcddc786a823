"""Log estates for the fan-out tests, written by ``atc sample`` itself."""

from __future__ import annotations

import gzip
import io
import json
import shutil
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from copilot.cli import run as cli
from copilot.commands._output import to_json
from copilot.config import Settings
from copilot.pipeline import AnalysisRun

SAMPLE = Settings().sample_path  # the bundled 7-day sample (gzip CSV)


def atc_sample(out: Path, *argv: str) -> dict[str, Any]:
    """``atc sample ... --out OUT --json``: the file and its scenario's ground truth."""
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        assert cli(["sample", *argv, "--out", str(out), "--json"]) == 0
    return json.loads(buffer.getvalue())["scenario"]


def plain_sample(out: Path) -> Path:
    """The bundled sample, decompressed (a gzip file cannot be cut into byte ranges)."""
    with gzip.open(SAMPLE, "rb") as src, out.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return out


def canonical(run: AnalysisRun | dict[str, Any]) -> str:
    """The ``atc analyze --json`` body, keys sorted: what must match byte for byte."""
    body = run if isinstance(run, dict) else run.to_dict()
    return json.dumps(json.loads(to_json(body)), sort_keys=True)
