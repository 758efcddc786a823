"""Log estates for the fan-out tests, written by ``atc sample`` itself."""

from __future__ import annotations

import gzip
import io
import json
import shutil
from contextlib import redirect_stdout
from datetime import datetime
from pathlib import Path
from typing import Any

from copilot.cli import run as cli
from copilot.commands._output import to_json
from copilot.config import Settings
from copilot.fanout.partition import BYTES, Partition, next_line_start
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


def line_at(path: Path, offset: int) -> bytes:
    with path.open("rb") as fh:
        fh.seek(offset)
        return fh.readline()


def line_before(path: Path, offset: int) -> bytes:
    with path.open("rb") as fh:
        fh.seek(max(0, offset - 8192))
        return fh.read(offset - max(0, offset - 8192)).splitlines()[-1]


def line_ms(line: bytes) -> int:
    return int(line.split(b",", 1)[0])


def ranges(path: Path, cuts: list[int]) -> list[Partition]:
    """Byte-range partitions of a CSV export cut at the line starts ``cuts``."""
    size = path.stat().st_size
    edges = [0, *sorted(set(cuts)), size]
    return [
        Partition(f"0000-{k:04d}", str(path), "analytics-csv", BYTES, a, b, 1, k > 0, 0, size)
        for k, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True))
    ]


def cut_inside(path: Path, start: str, end: str) -> int:
    """A line start whose request and the one before it are in [start, end) and one minute."""
    lo = datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp() * 1000
    hi = datetime.fromisoformat(end.replace("Z", "+00:00")).timestamp() * 1000
    size = path.stat().st_size
    at = next_line_start(path, 0, size)  # after the header
    previous = None
    with path.open("rb") as fh:
        fh.seek(at)
        for line in fh:
            at_ms = line_ms(line)
            if (
                previous is not None
                and lo + 60_000 <= at_ms < hi
                and at_ms // 60_000 == previous // 60_000
            ):
                return at
            previous = at_ms
            at += len(line)
    raise AssertionError("no request in the window")


def two_day_estate(root: Path, formats: dict[str, str]) -> tuple[dict[str, Path], dict[str, Any]]:
    """The same two days of ``atc sample`` traffic in each format: {extension: file}, scenario."""
    files = {ext: root / f"two-days.{ext}" for ext in formats}
    scenario: dict[str, Any] = {}
    for ext, path in files.items():
        scenario = atc_sample(path, "--days", "2", "--seed", "3", "--rows", "30000",
                              "--format", formats[ext])  # fmt: skip
    return files, scenario


def rewrite_partial(path: Path, change: Any) -> Path:
    """A partial file with its metadata and arrays passed through ``change`` (tamper tests)."""
    import numpy as np

    from copilot.fanout.partial import encode

    with np.load(path, allow_pickle=False) as npz:
        arrays = {n: npz[n] for n in npz.files}
    meta = json.loads(arrays.pop("meta").tobytes())
    change(meta, arrays)
    out = path.with_name("changed.npz")
    out.write_bytes(encode(meta, arrays))
    return out
