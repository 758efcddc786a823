"""Parquet analytics exports, streamed one record batch at a time.

``pyarrow.parquet.ParquetFile.iter_batches`` reads the file row group by row
group and hands out batches of at most ``batch_rows`` rows, reading only the
columns atc maps (``copilot.logs.fields.ANALYTICS_FIELDS``), so memory follows
the batch, not the file. See ``copilot.logs.columnar`` for the field mapping.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from copilot.errors import LogFormatError
from copilot.logs.columnar import CHUNK_ROWS, table_to_chunks, wanted_sources
from copilot.logs.quarantine import Quarantine


def read_parquet(
    path: Path,
    quarantine: Quarantine,
    *,
    columns: tuple[str, ...] | None = None,
    batch_rows: int = CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """Yield canonical chunks from a Parquet file of analytics records."""
    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise LogFormatError(f"{path}: not a readable Parquet file ({exc})") from exc
    sources = wanted_sources(file.schema_arrow.names, columns)
    row = 1
    try:
        for batch in file.iter_batches(batch_size=batch_rows, columns=list(sources.values())):
            yield from table_to_chunks(str(path), batch, row, sources, quarantine, columns)
            row += batch.num_rows
    except pa.ArrowInvalid as exc:
        raise LogFormatError(f"{path}: Parquet data cannot be read ({exc})") from exc
    finally:
        file.close()
