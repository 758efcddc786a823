"""Parquet and Avro analytics exports, as Apigee Data Export / BigQuery extracts write them.

Columns keep Apigee's analytics field names; the ``*_timestamp`` fields, epoch
milliseconds in the records, become BigQuery ``TIMESTAMP`` values (microseconds,
UTC): Parquet ``timestamp[us, UTC]``, Avro ``long`` with logical type
``timestamp-micros``. Every field is nullable. Each chunk of records becomes
one Parquet row group (at most ``row_group_rows`` rows) or Avro blocks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import fastavro
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

BQ_TIMESTAMP = pa.timestamp("us", tz="UTC")


def bigquery_types(table: pa.Table) -> pa.Table:
    """Integer ``*_timestamp`` columns (epoch ms) as BigQuery TIMESTAMPs; plain strings."""
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_dictionary(column.type):
            column = pc.cast(column, column.type.value_type)
        if pa.types.is_large_string(column.type):  # pandas' strings: same bytes either way
            column = pc.cast(column, pa.string())
        if name.endswith("_timestamp") and pa.types.is_integer(column.type):
            column = pc.cast(pc.multiply(pc.cast(column, pa.int64()), 1000), pa.int64())
            column = column.cast(BQ_TIMESTAMP)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def write_parquet(out: BinaryIO, chunks: Iterable[pa.Table], row_group_rows: int) -> int:
    """Write chunks as Parquet row groups of at most ``row_group_rows`` rows."""
    total = 0
    writer: pq.ParquetWriter | None = None
    try:
        for table in chunks:
            table = bigquery_types(table)
            if writer is None:
                writer = pq.ParquetWriter(out, table.schema, compression="snappy")
            writer.write_table(table.cast(writer.schema), row_group_size=row_group_rows)
            total += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return total


def avro_schema(schema: pa.Schema) -> dict[str, Any]:
    """The Avro record schema of a table (every field nullable, BigQuery's types)."""
    return {
        "type": "record",
        "name": "ApigeeAnalytics",
        "fields": [
            {"name": f.name, "type": ["null", _avro_type(f.type)], "default": None} for f in schema
        ],
    }


def _avro_type(kind: pa.DataType) -> Any:
    if pa.types.is_timestamp(kind):
        return {"type": "long", "logicalType": "timestamp-micros"}
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind):
        return "long"
    if pa.types.is_floating(kind):
        return "double"
    return "string"


def write_avro(out: BinaryIO, chunks: Iterable[pa.Table]) -> int:
    """Write chunks as one Avro object container file (uncompressed blocks)."""
    it = iter(chunks)
    first = next(it, None)
    if first is None:
        return 0
    first = bigquery_types(first)
    schema = fastavro.parse_schema(avro_schema(first.schema))
    counted = [0]

    def rows() -> Iterator[dict[str, Any]]:
        for table in _chain(first, it):
            counted[0] += table.num_rows
            yield from table.cast(first.schema).to_pylist()

    # A fixed sync marker (fastavro draws a random one): same records, same bytes.
    marker = hashlib.md5(json.dumps(avro_schema(first.schema)).encode()).digest()
    fastavro.writer(out, schema, rows(), codec="null", sync_marker=marker)
    return counted[0]


def _chain(first: pa.Table, rest: Iterator[pa.Table]) -> Iterator[pa.Table]:
    yield first
    for table in rest:
        yield bigquery_types(table)
