"""Columnar analytics exports (Parquet, Avro): batches with analytics field names.

What Apigee's Data Export and BigQuery extracts write is one column per
analytics field (``client_received_start_timestamp``, ``apiproxy``,
``request_verb``, ``response_status_code``, ``total_response_time`` ...;
cloud.google.com/apigee/docs/api-platform/analytics/analytics-reference), with
real types: BigQuery ``TIMESTAMP`` (microseconds, UTC) or epoch-ms integers
for times, integers for codes and durations. A batch is renamed to canonical
names and normalised like every other format; a rejected row is quarantined
under its 1-based row number in the file.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pyarrow as pa

from copilot.logs.analytics import pick_sources
from copilot.logs.normalize import normalize
from copilot.logs.quarantine import Quarantine

CHUNK_ROWS = 250_000  # rows per canonical chunk: bounds memory whatever the file size


def wanted_sources(names: list[str], columns: tuple[str, ...] | None) -> dict[str, str]:
    """Canonical name -> export column, for the columns worth reading."""
    return pick_sources(names, columns)


def table_to_chunks(
    source: str,
    table: pa.Table | pa.RecordBatch,
    first_row: int,
    sources: dict[str, str],
    quarantine: Quarantine,
    columns: tuple[str, ...] | None,
) -> Iterator[pd.DataFrame]:
    """Normalise one batch (export names) to a canonical chunk; quarantine its bad rows."""
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    by_source = {src: canon for canon, src in sources.items()}
    present = [c for c in table.column_names if c in by_source]
    raw = table.select(present).rename_columns([by_source[c] for c in present])
    result = normalize(raw, columns)
    for index, reason in result.rejected:
        quarantine.reject(source, first_row + index, reason, _row_text(table, present, index))
    quarantine.accept(len(result.frame))
    if len(result.frame):
        yield result.frame


def _row_text(table: pa.Table, names: list[str], index: int) -> str:
    row = table.select(names).slice(index, 1).to_pylist()[0]
    return " ".join(f"{k}={'' if v is None else v}" for k, v in row.items())
