"""Read one partition into an ``Analyzer``, with the same readers as ``atc analyze``.

A byte range is read by the format's own reader through a ``WindowPath``
(``copilot.fanout.window``): the reader sees the range, with the CSV header in
front when the range needs it, as a whole file, and behaves exactly as on
one; nothing is copied. Line numbers of rejected lines are relative to the range until
the merge adds the lines of the ranges before it (counted there, and only when
a later range has rejected lines). Parquet row-group runs are read in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from copilot.analysis import Analyzer
from copilot.errors import LogFormatError
from copilot.fanout.partition import BYTES, ROW_GROUPS, Partition
from copilot.fanout.window import WindowPath
from copilot.logs.quarantine import Quarantine
from copilot.logs.reader import ReadOptions
from copilot.logs.reader import _read as read_format  # the per-format dispatch of iter_chunks
from copilot.pipeline import ChunkConsumer, feed, with_columns

COPY_BLOCK = 4 << 20


@dataclass
class Reading:
    """What reading one partition gave: the aggregates and the account of lines."""

    analyzer: Analyzer
    quarantine: Quarantine
    chunks: int
    header_lines: int = 0  # lines put in front of the range (a CSV header)


def _has_text(path: str, start: int, end: int) -> bool:
    """Whether bytes ``[start, end)`` hold anything but whitespace (a blank range has no log)."""
    with open(path, "rb") as fh:
        fh.seek(start)
        left = end - start
        while left > 0 and (block := fh.read(min(COPY_BLOCK, left))):
            if block.strip():
                return True
            left -= len(block)
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


def _header(part: Partition) -> bytes:
    if not part.header:
        return b""
    with open(part.path, "rb") as fh:
        return fh.readline()


def read_partition(
    part: Partition,
    options: ReadOptions | None = None,
    *,
    quarantine_path: Path | None = None,
    on_chunk: Callable[[int], None] = lambda _n: None,
    consumers: Sequence[ChunkConsumer] = (),
    extra_columns: Sequence[str] = (),
) -> Reading:
    """Analyse one partition; ``on_chunk(n)`` after each chunk (heartbeats go there).

    ``consumers`` get every chunk too (``atc suggest``'s request collector), and
    ``extra_columns`` are parsed for them, as in ``copilot.pipeline.read_pass``.
    """
    options = with_columns(options, extra_columns)
    quarantine = Quarantine(path=quarantine_path)
    analyzer = Analyzer()
    chunks, header_lines = 0, 0
    try:
        if part.kind == ROW_GROUPS:
            stream: Iterator[pd.DataFrame] = _row_groups(part, quarantine, options)
        elif part.kind == BYTES:
            header_lines = 1 if part.header else 0
            stream = iter(())
            if _has_text(part.path, part.start, part.end):
                path = WindowPath(part.path).window(part.start, part.end, _header(part))
                stream = read_format(path, part.fmt, quarantine, options)
        else:
            stream = read_format(Path(part.path), part.fmt, quarantine, options)
        chunks = feed(stream, [analyzer, *consumers], on_chunk)
    finally:
        quarantine.close()
    return Reading(analyzer, quarantine, chunks, header_lines)
