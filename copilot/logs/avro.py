"""Avro analytics exports (BigQuery's Avro extract), read block by block with fastavro.

An Avro object container file is a header (the writer's schema) and blocks of
records. ``fastavro.block_reader`` yields one block at a time; records are
gathered into batches of at most ``batch_rows`` rows, made into an Arrow table
and normalised like every other format, so memory follows the batch. BigQuery
writes ``TIMESTAMP`` as ``long`` with logical type ``timestamp-micros``
(fastavro gives aware datetimes); epoch-ms ``long`` times work too. Decoding
each record into a Python dict is the cost (about 30 µs for Apigee's ~40
fields): Avro reads an order of magnitude slower than Parquet.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro
import pandas as pd
import pyarrow as pa

from copilot.errors import LogFormatError
from copilot.logs.columnar import table_to_chunks, wanted_sources
from copilot.logs.quarantine import Quarantine

# Records are Python dicts until a batch becomes a table: smaller batches than
# the columnar readers' keep that transient memory low.
AVRO_BATCH_ROWS = 100_000


def _field_names(schema: Any) -> list[str]:
    if isinstance(schema, dict) and schema.get("type") == "record":
        return [f["name"] for f in schema.get("fields", [])]
    raise LogFormatError("the Avro schema is not a record of fields")


def read_avro(
    path: Path,
    quarantine: Quarantine,
    *,
    columns: tuple[str, ...] | None = None,
    batch_rows: int = AVRO_BATCH_ROWS,
) -> Iterator[pd.DataFrame]:
    """Yield canonical chunks from an Avro file of analytics records."""
    with path.open("rb") as fh:
        try:
            blocks = fastavro.block_reader(fh)
            sources = wanted_sources(_field_names(blocks.writer_schema), columns)
        except (ValueError, KeyError, fastavro.read.SchemaResolutionError) as exc:
            raise LogFormatError(f"{path}: not a readable Avro file ({exc})") from exc
        keep = list(sources.values())
        pending: list[dict[str, Any]] = []
        row = 1
        try:
            for block in blocks:
                pending.extend({k: rec.get(k) for k in keep} for rec in block)
                while len(pending) >= batch_rows:
                    batch, pending = pending[:batch_rows], pending[batch_rows:]
                    yield from _emit(path, batch, keep, row, sources, quarantine, columns)
                    row += len(batch)
        except (ValueError, EOFError, StopIteration) as exc:
            raise LogFormatError(f"{path}: Avro data cannot be read ({exc})") from exc
        if pending:
            yield from _emit(path, pending, keep, row, sources, quarantine, columns)


def _emit(
    path: Path,
    records: list[dict[str, Any]],
    names: list[str],
    row: int,
    sources: dict[str, str],
    quarantine: Quarantine,
    columns: tuple[str, ...] | None,
) -> Iterator[pd.DataFrame]:
    data = {n: [r[n] for r in records] for n in names}
    try:
        table = pa.Table.from_pydict(data)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # A union-typed field holds mixed types: hand its values over as text.
        table = pa.Table.from_pydict(
            {n: [None if v is None else str(v) for v in vs] for n, vs in data.items()}
        )
    yield from table_to_chunks(str(path), table, row, sources, quarantine, columns)
