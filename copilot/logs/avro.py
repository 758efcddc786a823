"""Avro analytics exports (BigQuery's Avro extract), read block by block.

An Avro object container file is a header (the writer's schema) and blocks of
records; ``fastavro.block_reader`` hands out one (decompressed) block at a
time. Flat records of primitive fields, the shape BigQuery and atc's own
writer produce, are decoded straight into Arrow columns by
:mod:`copilot.logs.avro_columns` (numpy, vectorised over the records of a
window of blocks: ~4 s for 1M records of 33 fields, CSV 2.3 s); any other
schema (nested records, arrays, maps, multi-type unions, a logical type other
than timestamps on a field atc reads) is decoded record by record with
fastavro, the reference path, 33-47 s. Either way records are gathered into
chunks of ``batch_rows`` rows and normalised like every other format, so
memory follows the window, not the file (333 MB peak at 1M rows, 354 MB at
5M). BigQuery writes ``TIMESTAMP`` as ``long`` with logical type
``timestamp-micros``; epoch-ms ``long`` times work too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import fastavro
import pandas as pd
import pyarrow as pa

from copilot.errors import LogFormatError
from copilot.logs.avro_columns import (
    AvroDataError,
    CutsMissed,
    FieldPlan,
    arrow_type,
    decode_blocks,
    plan,
)
from copilot.logs.columnar import table_to_chunks, wanted_sources
from copilot.logs.quarantine import Quarantine

# Rows per canonical chunk (the records path holds them as Python values).
AVRO_BATCH_ROWS = 100_000
# The column decoder takes blocks in windows: a numpy step costs about the same
# for 100 lanes or 1,000, so a window wants many, but its bytes stay in memory
# (measured on 1M records: 8 MB windows peak at 301 MB, 16 MB 333, 64 MB 531;
# CPU time alike within noise).
WINDOW_BYTES = 16 << 20


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
    columnar: bool = True,
) -> Iterator[pd.DataFrame]:
    """Yield canonical chunks from an Avro file of analytics records.

    ``columnar=False`` decodes record by record with fastavro even when the
    schema allows the column decoder (same chunks, slower: a reference).
    """
    with path.open("rb") as fh:
        try:
            blocks = fastavro.block_reader(fh)
            sources = wanted_sources(_field_names(blocks.writer_schema), columns)
        except (ValueError, KeyError, fastavro.read.SchemaResolutionError) as exc:
            raise LogFormatError(f"{path}: not a readable Avro file ({exc})") from exc
        keep = list(sources.values())
        fields = plan(blocks.writer_schema, keep) if columnar else None
        if fields:
            tables = _rebatch(_column_tables(blocks, fields, keep), batch_rows)
        else:
            tables = _record_tables(blocks, keep, batch_rows)
        row = 1
        try:
            for table in tables:
                yield from table_to_chunks(str(path), table, row, sources, quarantine, columns)
                row += table.num_rows
        except (ValueError, EOFError, StopIteration) as exc:
            raise LogFormatError(f"{path}: Avro data cannot be read ({exc})") from exc


def _rebatch(tables: Iterable[pa.Table], rows: int) -> Iterator[pa.Table]:
    """The rows of ``tables`` again, in tables of exactly ``rows`` rows (the last: fewer)."""
    pending: list[pa.Table] = []
    held = 0
    for table in tables:
        pending.append(table)
        held += table.num_rows
        while held >= rows:
            whole = pa.concat_tables(pending)
            yield whole.slice(0, rows)
            rest = whole.slice(rows)
            pending, held = [rest] if rest.num_rows else [], rest.num_rows
    if held:
        yield pa.concat_tables(pending)


def _column_tables(
    blocks: Iterable[Any], fields: list[FieldPlan], names: list[str]
) -> Iterator[pa.Table]:
    """Windows of blocks decoded column-wise (see ``copilot.logs.avro_columns``), as
    columns ``names`` in that order (a quarantined row shows them so)."""
    window: list[Any] = []
    size = 0
    for block in blocks:
        window.append(block)
        size += block.bytes_.getbuffer().nbytes
        if size >= WINDOW_BYTES:
            yield _decode(window, fields).select(names)
            window, size = [], 0
    if window:
        yield _decode(window, fields).select(names)


def _decode(window: list[Any], fields: list[FieldPlan]) -> pa.Table:
    payloads = [block.bytes_.getbuffer() for block in window]
    try:
        return decode_blocks(payloads, [block.num_records for block in window], fields)
    except CutsMissed:
        # Large blocks whose record starts could not be guessed (a schema of many
        # fields of one type looks alike at every field): fastavro, record by record.
        return _typed_records(window, fields)
    except AvroDataError as exc:
        raise ValueError(str(exc)) from exc


def _typed_records(window: list[Any], fields: list[FieldPlan]) -> pa.Table:
    """A window decoded by fastavro into the column decoder's types."""
    records = [record for block in window for record in block]
    return pa.table(
        {
            f.name: pa.array([r[f.name] for r in records], type=arrow_type(f))
            for f in fields
            if f.keep
        }
    )


def _record_tables(blocks: Iterable[Any], names: list[str], rows: int) -> Iterator[pa.Table]:
    """Blocks decoded record by record with fastavro (any schema), ``rows`` at a time."""
    pending: list[dict[str, Any]] = []
    for block in blocks:
        pending.extend({k: rec.get(k) for k in names} for rec in block)
        while len(pending) >= rows:
            batch, pending = pending[:rows], pending[rows:]
            yield _table({n: [r[n] for r in batch] for n in names})
    if pending:
        yield _table({n: [r[n] for r in pending] for n in names})


def _table(data: dict[str, list[Any]]) -> pa.Table:
    try:
        return pa.Table.from_pydict(data)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # A union-typed field holds mixed types: hand its values over as text.
        return pa.Table.from_pydict(
            {n: [None if v is None else str(v) for v in vs] for n, vs in data.items()}
        )
