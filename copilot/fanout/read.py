"""Read one partition into an ``Analyzer``, with the same readers as ``atc analyze``.

A byte range is copied (streamed, in blocks) to a scratch file on the
worker's local disk, with the CSV header in front when the range needs it,
and read by the format's own reader: every reader then behaves exactly as on
a whole file. The copy is made by the kernel (``os.copy_file_range``), not
through Python. Line numbers of rejected lines are relative to the range until
the merge adds the lines of the ranges before it (counted there, and only when
a later range has rejected lines). Parquet row-group runs are read in place.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from copilot.analysis import COLUMNS_USED, Analyzer
from copilot.errors import LogFormatError
from copilot.fanout.partition import BYTES, ROW_GROUPS, Partition
from copilot.logs.quarantine import Quarantine
from copilot.logs.reader import ReadOptions
from copilot.logs.reader import _read as read_format  # the per-format dispatch of iter_chunks

COPY_BLOCK = 4 << 20


@dataclass
class Reading:
    """What reading one partition gave: the aggregates and the account of lines."""

    analyzer: Analyzer
    quarantine: Quarantine
    chunks: int
    header_lines: int = 0  # lines put in front of the range (a CSV header)


def _copy_range(part: Partition, dest: Path) -> None:
    """Copy the partition's bytes to ``dest`` (the file's header line first, if needed)."""
    with Path(part.path).open("rb") as src, dest.open("wb") as out:
        if part.header:
            out.write(src.readline())
            out.flush()
        at, left = part.start, part.end - part.start
        try:
            while left > 0:
                n = os.copy_file_range(src.fileno(), out.fileno(), left, at)
                if n == 0:
                    break
                at, left = at + n, left - n
        except OSError:  # a filesystem without it: copy through Python
            src.seek(at)
            while left > 0:
                block = src.read(min(COPY_BLOCK, left))
                if not block:
                    break
                out.write(block)
                left -= len(block)


def _has_text(path: Path, skip: int) -> bool:
    """Whether anything but whitespace follows the first ``skip`` bytes (a blank range has no log)."""
    with path.open("rb") as fh:
        fh.seek(skip)
        while block := fh.read(COPY_BLOCK):
            if block.strip():
                return True
    return False


def count_lines(path: str, start: int, end: int) -> int:
    """Newlines in ``[start, end)`` of a file: the line offset a byte range adds."""
    count = 0
    with Path(path).open("rb") as fh:
        fh.seek(start)
        left = end - start
        while left > 0 and (block := fh.read(min(COPY_BLOCK, left))):
            count += block.count(b"\n")
            left -= len(block)
    return count


def _row_groups(
    part: Partition, quarantine: Quarantine, options: ReadOptions
) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from copilot.logs.columnar import CHUNK_ROWS, table_to_chunks, wanted_sources

    try:
        file = pq.ParquetFile(part.path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise LogFormatError(f"{part.path}: not a readable Parquet file ({exc})") from exc
    sources = wanted_sources(file.schema_arrow.names, options.columns)
    row = part.first_row
    groups = list(range(part.start, part.end))
    try:
        for batch in file.iter_batches(CHUNK_ROWS, groups, list(sources.values())):
            yield from table_to_chunks(part.path, batch, row, sources, quarantine, options.columns)
            row += batch.num_rows
    except pa.ArrowInvalid as exc:
        raise LogFormatError(f"{part.path}: Parquet data cannot be read ({exc})") from exc
    finally:
        file.close()


def _relabel(quarantine: Quarantine, scratch: Path, source: str) -> None:
    """Samples read from the scratch copy name the real file."""
    quarantine.samples[:] = [
        type(s)(source if s.source == str(scratch) else s.source, s.line, s.reason, s.text)
        for s in quarantine.samples
    ]


def read_partition(
    part: Partition,
    options: ReadOptions | None = None,
    *,
    quarantine_path: Path | None = None,
    scratch_dir: Path | None = None,
    on_chunk: Callable[[int], None] = lambda _n: None,
) -> Reading:
    """Analyse one partition; ``on_chunk(n)`` after each chunk (heartbeats go there)."""
    options = options or ReadOptions()
    if options.columns is None:
        options = replace(options, columns=COLUMNS_USED)
    quarantine = Quarantine(path=quarantine_path)
    analyzer = Analyzer()
    chunks, header_lines = 0, 0
    scratch: Path | None = None
    try:
        if part.kind == ROW_GROUPS:
            stream: Iterator[pd.DataFrame] = _row_groups(part, quarantine, options)
            source = None
        elif part.kind == BYTES:
            fd, name = tempfile.mkstemp(prefix=f"atc-part-{part.id}-", dir=scratch_dir)
            os.close(fd)
            scratch = Path(name)
            _copy_range(part, scratch)
            header_lines = 1 if part.header else 0
            skip = scratch.stat().st_size - (part.end - part.start)  # the header put in front
            text = _has_text(scratch, skip)
            stream = read_format(scratch, part.fmt, quarantine, options) if text else iter(())
            source = part.path
        else:
            stream = read_format(Path(part.path), part.fmt, quarantine, options)
            source = None
        for chunk in stream:
            analyzer.add(chunk)
            chunks += 1
            on_chunk(chunks)
        if scratch is not None and source is not None:
            _relabel(quarantine, scratch, source)
    finally:
        quarantine.close()
        if scratch is not None:
            scratch.unlink(missing_ok=True)
    return Reading(analyzer, quarantine, chunks, header_lines)
