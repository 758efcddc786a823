"""Split log files into partitions that workers read independently.

A partition is one of:

- a whole file (gzip, Avro, a Cloud Logging JSON array, gcloud YAML, and any
  file too small to be worth splitting);
- a byte range of a line-oriented file (analytics CSV and JSON lines, syslog,
  Cloud Logging JSON lines), starting right after a newline and ending right
  after one (or at the end of the file), so no record is cut in two. A CSV
  range after the first is read with the file's header line put in front;
- a run of consecutive Parquet row groups.

Partitions are listed in file order, then position, and that order is what
makes the merged quarantine samples and line numbers the single-process ones.
Planning reads only file sizes, magic bytes, a peek of text files and a few
bytes around each cut: it is cheap whatever the file size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

WHOLE = "file"
BYTES = "bytes"
ROW_GROUPS = "row_groups"
# Below this, a file is one partition: splitting costs more than it saves.
MIN_SPLIT_BYTES = 1 << 20
# Formats with one record per line (cloud-logging only when it is JSON lines).
LINE_FORMATS = ("analytics-csv", "analytics-jsonl", "syslog", "cloud-logging")
SCAN_BYTES = 1 << 16


@dataclass(frozen=True)
class Partition:
    """One unit of work: a file, a byte range of it, or a run of its row groups.

    ``start``/``end`` are byte offsets (``BYTES``) or row group indices
    (``ROW_GROUPS``, end exclusive); ``first_row`` is the 1-based number of the
    first row of a row-group run (rejected rows are quarantined under it).
    ``header`` is True for a CSV range that needs the file's header in front.
    """

    id: str
    path: str
    fmt: str
    kind: str = WHOLE
    start: int = 0
    end: int = 0
    first_row: int = 1
    header: bool = False
    file_index: int = 0
    size: int = 0


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def line_splittable(path: Path, fmt: str) -> bool:
    """Whether a file can be cut at newlines (one record a line, not compressed)."""
    if fmt not in LINE_FORMATS or _is_gzip(path):
        return False
    if fmt == "cloud-logging":  # a JSON array is one document; JSON lines split
        with path.open("rb") as fh:
            head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        return head.startswith(b"{")
    return True


def next_line_start(path: Path, offset: int, size: int) -> int:
    """The offset just after the first newline at or after ``offset`` (``size`` if none)."""
    with path.open("rb") as fh:
        fh.seek(offset)
        at = offset
        while at < size:
            block = fh.read(SCAN_BYTES)
            if not block:
                break
            hit = block.find(b"\n")
            if hit >= 0:
                return at + hit + 1
            at += len(block)
    return size


def byte_cuts(path: Path, pieces: int, data_start: int = 0) -> list[tuple[int, int]]:
    """``pieces`` (or fewer) newline-aligned ranges covering ``[data_start, size)``."""
    size = path.stat().st_size
    if pieces <= 1 or size - data_start <= 0:
        return [(0, size)]
    step = (size - data_start) / pieces
    cuts = [0, data_start] if data_start else [0]
    for k in range(1, pieces):
        cut = next_line_start(path, data_start + int(k * step) - 1, size)
        if cut > cuts[-1] and cut < size:
            cuts.append(cut)
    cuts.append(size)
    ranges = list(zip(cuts[:-1], cuts[1:], strict=True))
    if data_start:  # the header is read with the first data range, not alone
        ranges = [(0, ranges[1][1]), *ranges[2:]] if len(ranges) > 1 else ranges
    return ranges


def _row_group_runs(rows: list[int], pieces: int) -> list[tuple[int, int, int]]:
    """Consecutive row-group runs of about equal rows: (first group, end group, first row)."""
    target = sum(rows) / max(1, pieces)
    runs: list[tuple[int, int, int]] = []
    before = 0
    for index, count in enumerate(rows):
        # A group goes to the run its middle row falls in.
        run = min(pieces - 1, int((before + count / 2) // target)) if target else 0
        if not runs or run > runs[-1][3]:
            runs.append((index, index + 1, before + 1, run))
        else:
            runs[-1] = (runs[-1][0], index + 1, runs[-1][2], runs[-1][3])
        before += count
    return [(a, b, first) for a, b, first, _ in runs]


def plan_file(path: Path, fmt: str, index: int, pieces: int, headerless: bool) -> list[Partition]:
    """The partitions of one file (``pieces`` is a target, not a promise)."""
    size = path.stat().st_size
    base = f"{index:04d}"
    if fmt == "parquet" and pieces > 1:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        rows = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        runs = _row_group_runs(rows, pieces) if rows else []
        if len(runs) > 1:
            return [
                Partition(f"{base}-{k:04d}", str(path), fmt, ROW_GROUPS, a, b, first, False,
                          index, size)
                for k, (a, b, first) in enumerate(runs)
            ]  # fmt: skip
    if pieces > 1 and size >= MIN_SPLIT_BYTES and line_splittable(path, fmt):
        csv_header = fmt == "analytics-csv" and not headerless
        data_start = next_line_start(path, 0, size) if csv_header else 0
        ranges = byte_cuts(path, pieces, data_start)
        if len(ranges) > 1:
            return [
                Partition(f"{base}-{k:04d}", str(path), fmt, BYTES, a, b, 1,
                          csv_header and k > 0, index, size)
                for k, (a, b) in enumerate(ranges)
            ]  # fmt: skip
    return [Partition(f"{base}-0000", str(path), fmt, WHOLE, 0, size, 1, False, index, size)]


def plan(
    paths: list[Path], formats: list[str], partitions: int, headerless: bool = False
) -> list[Partition]:
    """About ``partitions`` partitions over ``paths`` (each file at least one).

    Files get pieces in proportion to their size, so a week of daily files
    asked for 7 partitions is 7 whole files, and one big file asked for 8 is
    8 ranges of it.
    """
    sizes = [p.stat().st_size for p in paths]
    total = sum(sizes) or 1
    out: list[Partition] = []
    for index, (path, fmt, size) in enumerate(zip(paths, formats, sizes, strict=True)):
        pieces = max(1, math.floor(partitions * size / total + 0.5))
        out.extend(plan_file(path, fmt, index, pieces, headerless))
    return out
