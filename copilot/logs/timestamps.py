"""Timestamp encodings seen in Apigee logs, parsed to UTC milliseconds.

Accepted (docs/apigee.md, 'Data export'): epoch milliseconds (raw records hold the
``*_timestamp`` fields as int64 epoch ms), epoch seconds or microseconds (told
apart by magnitude), ISO-8601 / RFC 3339 with ``Z`` or an offset, and
BigQuery's ``YYYY-MM-DD HH:MM:SS[.fff] UTC``. A time without a zone is UTC,
as every Apigee timestamp is.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_SECONDS_BELOW = 100_000_000_000  # 1e11: epoch seconds until the year 5138
_MICROS_ABOVE = 100_000_000_000_000  # 1e14 ms is the year 5138
_NUMBER = r"^\s*-?\d+(\.\d+)?\s*$"
_HAS_ZONE = r"(Z|[+-]\d\d:?\d\d)$"


def epoch_to_ms(values: pa.Array) -> pa.Array:
    """Epoch numbers (s, ms or µs, told apart by magnitude) to int64 ms."""
    numbers = pc.cast(values, pa.float64())
    ms = pc.if_else(
        pc.less(pc.abs(numbers), _SECONDS_BELOW),
        pc.multiply(numbers, 1000.0),
        pc.if_else(pc.greater(pc.abs(numbers), _MICROS_ABOVE), pc.divide(numbers, 1000.0), numbers),
    )
    return pc.cast(pc.floor(ms), pa.int64())


def parse_timestamps(values: pa.Array) -> pa.Array:
    """Parse an Arrow array of timestamps to ``timestamp[ms, UTC]``; bad values become null."""
    if pa.types.is_timestamp(values.type):
        if values.type.tz is None:
            values = pc.assume_timezone(values, "UTC")
        # Parquet and Avro exports (BigQuery) carry µs or ns: the sub-millisecond part is
        # cut, as the string and epoch forms floor it, never a reason to refuse the file.
        return pc.cast(values, pa.timestamp("ms", tz="UTC"), safe=False)
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        return _ms_to_ts(epoch_to_ms(values))
    try:  # the common case: a column of epoch numbers
        return _ms_to_ts(epoch_to_ms(pc.cast(values, pa.int64())))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    numeric = pc.match_substring_regex(values, _NUMBER)
    out_ms = pa.nulls(len(values), pa.int64())
    if pc.any(numeric).as_py():
        numbers = pc.if_else(numeric, values, None)
        out_ms = pc.if_else(numeric, epoch_to_ms(numbers), out_ms)
    texts = pc.if_else(numeric, None, values)
    if pc.count(texts).as_py():
        out_ms = pc.coalesce(out_ms, pc.cast(_parse_iso(texts), pa.int64()))
    return _ms_to_ts(out_ms)


def _ms_to_ts(ms: pa.Array) -> pa.Array:
    return pc.cast(pc.cast(ms, pa.int64()), pa.timestamp("ms", tz="UTC"))


def _parse_iso(texts: pa.Array) -> pa.Array:
    texts = pc.replace_substring_regex(texts, r"\s*UTC$", "Z")
    texts = pc.replace_substring_regex(texts, r"^(\d{4}-\d\d-\d\d) ", "\\1T")
    zoned = pc.match_substring_regex(texts, _HAS_ZONE)
    texts = pc.if_else(zoned, texts, pc.binary_join_element_wise(texts, "Z", ""))
    try:
        parsed = pc.cast(texts, pa.timestamp("ns", tz="UTC"))
    except pa.ArrowInvalid:
        series = pd.to_datetime(
            pd.Series(texts.to_pylist(), dtype="object"),
            utc=True,
            errors="coerce",
            format="ISO8601",
        )
        parsed = pa.array(series.astype("datetime64[ns, UTC]"), type=pa.timestamp("ns", tz="UTC"))
    return pc.cast(parsed, pa.timestamp("ms", tz="UTC"), safe=False)
