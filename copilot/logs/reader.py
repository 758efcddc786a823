"""Read Apigee logs of any supported shape into canonical records.

``iter_chunks`` streams canonical DataFrame chunks (memory stays flat as input
grows); ``read_logs`` materialises them for small inputs such as the dashboard
sample. Formats are detected per file from their first bytes unless forced.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from copilot.errors import LogFormatError, UsageError
from copilot.logs import detect, schema
from copilot.logs.analytics import read_csv, read_jsonl
from copilot.logs.avro import read_avro
from copilot.logs.cloud_logging import read_cloud_logging
from copilot.logs.gcloud import read_gcloud_yaml
from copilot.logs.lines import read_line_records
from copilot.logs.parquet import read_parquet
from copilot.logs.quarantine import Quarantine
from copilot.logs.sources import peek, read_magic
from copilot.logs.syslog import syslog_parser


@dataclass(frozen=True)
class ReadOptions:
    """How to read: a forced format, a column subset, a syslog template, CSV column names."""

    fmt: str | None = None
    columns: tuple[str, ...] | None = None
    template: str | None = None
    csv_columns: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.fmt is not None and self.fmt not in detect.FORMATS:
            raise UsageError(
                f"unknown format {self.fmt!r}; choose one of: {', '.join(detect.FORMATS)}"
            )
        unknown = set(self.columns or ()) - set(schema.NAMES)
        if unknown:
            raise UsageError(f"unknown canonical columns: {sorted(unknown)}")


def detect_format(path: Path, options: ReadOptions = ReadOptions()) -> str:
    """The format of one file: binary exports by magic bytes, text ones from their first lines."""
    binary = detect.detect_binary(read_magic(path))
    if options.fmt in (detect.PARQUET, detect.AVRO) or (binary and not options.fmt):
        return options.fmt or binary  # type: ignore[return-value]
    head = peek(path)
    return options.fmt or detect.detect(path, head, headerless=options.csv_columns is not None)


def iter_chunks(
    paths: Iterable[Path | str], quarantine: Quarantine, options: ReadOptions = ReadOptions()
) -> Iterator[pd.DataFrame]:
    """Stream canonical chunks from every file; bad lines go to ``quarantine``.

    A file that yields no record at all is not a log of that format: it raises
    :class:`LogFormatError` (exit code 2) rather than passing as empty.
    """
    for raw_path in paths:
        path = Path(raw_path)
        fmt = detect_format(path, options)
        before = (quarantine.records, quarantine.lines_read)
        yield from _read(path, fmt, quarantine, options)
        if quarantine.records == before[0]:
            read = quarantine.lines_read - before[1]
            first = next(
                (s.reason for s in quarantine.samples if s.source == str(path)), "no lines"
            )
            raise LogFormatError(
                f"{path}: not one of {read} lines could be read as {fmt} (first problem: {first})"
            )


def _read(
    path: Path, fmt: str, quarantine: Quarantine, options: ReadOptions
) -> Iterator[pd.DataFrame]:
    columns = options.columns
    if fmt == detect.ANALYTICS_CSV:
        csv_columns = list(options.csv_columns) if options.csv_columns else None
        return read_csv(path, quarantine, columns=columns, csv_columns=csv_columns)
    if fmt == detect.ANALYTICS_JSONL:
        return read_jsonl(path, quarantine, columns=columns)
    if fmt == detect.CLOUD_LOGGING:
        return read_cloud_logging(path, quarantine, columns=columns, template=options.template)
    if fmt == detect.SYSLOG:
        return read_line_records(path, quarantine, syslog_parser(options.template), columns=columns)
    if fmt == detect.CLOUD_LOGGING_YAML:
        return read_gcloud_yaml(path, quarantine, columns=columns, template=options.template)
    if fmt == detect.PARQUET:
        return read_parquet(path, quarantine, columns=columns)
    if fmt == detect.AVRO:
        return read_avro(path, quarantine, columns=columns)
    raise LogFormatError(f"{path}: unsupported format {fmt}")


def read_logs(
    paths: Iterable[Path | str],
    options: ReadOptions = ReadOptions(),
    quarantine: Quarantine | None = None,
) -> tuple[pd.DataFrame, Quarantine]:
    """Read whole files into one canonical DataFrame (for inputs that fit in memory)."""
    quarantine = quarantine or Quarantine()
    try:
        chunks = list(iter_chunks(paths, quarantine, options))
    finally:
        quarantine.close()
    return schema.concat(chunks), quarantine
