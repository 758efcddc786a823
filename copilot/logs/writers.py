"""Write Apigee analytics export records in every log shape atc reads.

- ``analytics-csv``: the Data Export CSV, header row; gzip when the path ends ``.gz``.
- ``analytics-jsonl``: newline-delimited JSON (Data Export's default), numbers
  as numbers, missing values as null.
- ``cloud-logging``: one Cloud Logging LogEntry per line, as a MessageLogging
  ``<CloudLogging>`` policy writes them (flat ``jsonPayload`` of flow variables,
  every value a string); ``cloud-logging-array`` is the same as one JSON array
  (a console/``gcloud logging read --format=json`` export).
- ``syslog``: one MessageLogging ``<Syslog>`` line per record, RFC 5424 header
  then the template (``DEFAULT_SYSLOG_TEMPLATE`` unless given).
- ``parquet`` / ``avro``: a BigQuery-style export, analytics names as columns and
  the ``*_timestamp`` fields as TIMESTAMPs (``copilot.logs.writers_binary``).

Records are pyarrow tables or pandas frames with Apigee's export field names
(``copilot.logs.sample.EXPORT_COLUMNS``), given one at a time or as an iterable
of chunks. Every writer is vectorised (pyarrow kernels build whole columns of
text), and the output depends only on the records, so it is reproducible.
See docs/apigee.md, 'Analytics records' and 'MessageLogging shapes'.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv

from copilot.errors import UsageError
from copilot.logs.fields import DEFAULT_SYSLOG_TEMPLATE
from copilot.logs.formats import WRITE_FORMATS
from copilot.logs.writers_binary import write_avro, write_parquet
from copilot.logs.writers_text import cloud_logging_lines, jsonl_lines, lines_bytes, syslog_lines

FORMATS: tuple[str, ...] = WRITE_FORMATS
BINARY_FORMATS = ("parquet", "avro")
PARQUET_ROW_GROUP_ROWS = 100_000
CSV_BATCH_ROWS = 200_000  # rows per CSV write
TEXT_BATCH_ROWS = 50_000  # rows rendered as JSON/syslog text at a time: bounds its memory
GZIP_LEVEL = 9  # fixed, so a .gz written twice has the same bytes (mtime is 0 too)

Records = pa.Table | pd.DataFrame


def as_table(records: Records) -> pa.Table:
    """A pyarrow table of ``records`` (pandas frames are converted, index dropped)."""
    if isinstance(records, pa.Table):
        return records
    if isinstance(records, pd.DataFrame):
        return pa.Table.from_pandas(records, preserve_index=False)
    raise UsageError(
        f"records must be a pyarrow Table or pandas DataFrame, not {type(records).__name__}"
    )


def _chunks(records: Records | Iterable[Records], size: int) -> Iterator[pa.Table]:
    """Slices of at most ``size`` rows.

    References are dropped before the next chunk is requested, so a day
    generated on demand is freed before the next one is made.
    """
    items = iter([records] if isinstance(records, (pa.Table, pd.DataFrame)) else records)
    while (item := next(items, None)) is not None:
        table = as_table(item)
        del item
        # an empty table still yields once, so a CSV gets its header
        for offset in range(0, max(table.num_rows, 1), size):
            yield table.slice(offset, size)
        del table


@contextmanager
def open_output(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file for writing; gzip (level 9, mtime 0, no file name) when it ends ``.gz``."""
    target = Path(path)
    if target.parent and not target.parent.exists():
        raise UsageError(f"output directory does not exist: {target.parent}")
    with open(target, "wb") as raw:
        if target.suffix == ".gz":
            with gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=GZIP_LEVEL
            ) as gz:
                yield gz  # type: ignore[misc]
        else:
            yield raw


def _write_csv(out: BinaryIO, chunks: Iterable[pa.Table]) -> int:
    total = 0
    writer: pcsv.CSVWriter | None = None
    schema: pa.Schema | None = None
    sink = pa.PythonFile(out, mode="w")
    try:
        for table in chunks:
            if writer is None:
                schema = table.schema
                writer = pcsv.CSVWriter(sink, schema)
            # later chunks may type an all-null column differently: follow the first
            writer.write_table(table if table.schema == schema else table.cast(schema))
            total += table.num_rows
            del table  # let the finished chunk go before the next is made
    finally:
        if writer is not None:
            writer.close()
    return total


def _write_lines(
    out: BinaryIO, chunks: Iterable[pa.Table], render: Callable[[pa.Table, int], pa.Array]
) -> int:
    total = 0
    for table in chunks:
        out.write(lines_bytes(render(table, total)))
        total += table.num_rows
        del table
    return total


def _write_array(
    out: BinaryIO, chunks: Iterable[pa.Table], render: Callable[[pa.Table, int], pa.Array]
) -> int:
    total = 0
    out.write(b"[")
    for table in chunks:
        lines = render(table, total)
        if len(lines):
            out.write(b",\n" if total else b"\n")
            out.write(lines_bytes(lines, ",\n")[:-2])
        total += table.num_rows
        del table, lines
    out.write(b"\n]\n")
    return total


def write_records(
    records: Records | Iterable[Records],
    path: str | Path,
    fmt: str = "analytics-csv",
    *,
    template: str = DEFAULT_SYSLOG_TEMPLATE,
    text_share: float = 0.0,
    row_group_rows: int = PARQUET_ROW_GROUP_ROWS,
) -> int:
    """Write ``records`` to ``path`` in format ``fmt``; returns the number of records written.

    ``template`` is the MessageLogging message for ``syslog`` (and for the
    ``textPayload`` entries of ``cloud-logging``); ``text_share`` in [0, 1] is
    the share of Cloud Logging entries written as ``textPayload`` (a team
    whose template is not JSON), chosen by a hash of the record, off by default.
    ``row_group_rows`` bounds a Parquet row group.
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not 0.0 <= text_share <= 1.0:
        raise UsageError(f"text_share must be within [0, 1], got {text_share}")
    if fmt in BINARY_FORMATS and Path(path).suffix == ".gz":
        raise UsageError(f"{fmt} compresses its own data: write to a path without .gz")
    if fmt in BINARY_FORMATS:
        chunks = _chunks(records, min(row_group_rows, CSV_BATCH_ROWS))
    else:
        chunks = _chunks(records, CSV_BATCH_ROWS if fmt == "analytics-csv" else TEXT_BATCH_ROWS)
    with open_output(path) as out:
        if fmt == "parquet":
            return write_parquet(out, chunks, row_group_rows)
        if fmt == "avro":
            return write_avro(out, chunks)
        if fmt == "analytics-csv":
            return _write_csv(out, chunks)
        if fmt == "analytics-jsonl":
            return _write_lines(out, chunks, lambda t, _start: jsonl_lines(t))
        if fmt == "syslog":
            return _write_lines(out, chunks, lambda t, _start: syslog_lines(t, template))

        def render(table: pa.Table, start: int) -> pa.Array:
            return cloud_logging_lines(table, start, template=template, text_share=text_share)

        if fmt == "cloud-logging":
            return _write_lines(out, chunks, render)
        return _write_array(out, chunks, render)
