"""Line-oriented readers share one loop: parse each line, quarantine what fails."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from copilot.logs.normalize import normalize
from copilot.logs.quarantine import BAD_UTF8, Quarantine, Reason, parse_failure
from copilot.logs.sources import iter_line_blocks

# A parser turns one line into raw canonical fields, or raises ValueError with the reason
# (``Malformed`` when it can name the kind of failure).
LineParser = Callable[[str], dict[str, Any]]


def read_line_records(
    path: Path,
    quarantine: Quarantine,
    parse: LineParser,
    *,
    columns: tuple[str, ...] | None = None,
    block_lines: int = 200_000,
) -> Iterator[pd.DataFrame]:
    """Yield canonical chunks from a file with one record per line."""
    for block in iter_line_blocks(path, block_lines):
        items = ((number, text, raw.decode("utf-8", "replace")) for number, text, raw in block)
        yield from records_to_chunks(str(path), quarantine, parse, items, columns)


def records_to_chunks(
    source: str,
    quarantine: Quarantine,
    parse: LineParser,
    items: Iterable[tuple[int, str | None, str]],
    columns: tuple[str, ...] | None,
) -> Iterator[pd.DataFrame]:
    """Parse ``(number, text, shown_text)`` items (text None: not UTF-8) into one chunk."""
    rows: list[dict[str, Any]] = []
    origin: list[tuple[int, str]] = []
    for number, text, shown in items:
        if text is None:
            quarantine.reject(source, number, Reason(BAD_UTF8), shown)
            continue
        try:
            record = parse(text)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            quarantine.reject(source, number, parse_failure(exc), shown)
            continue
        rows.append({k: None if v is None else str(v) for k, v in record.items()})
        origin.append((number, shown))
    if not rows:
        return
    # Records differ in which fields they carry: the schema is the union, all strings.
    names = list(dict.fromkeys(key for row in rows for key in row))
    table = pa.Table.from_pylist(rows, schema=pa.schema([(n, pa.string()) for n in names]))
    result = normalize(table, columns)
    for index, reason in result.rejected:
        quarantine.reject(source, origin[index][0], reason, origin[index][1])
    quarantine.accept(len(result.frame))
    if len(result.frame):
        yield result.frame
