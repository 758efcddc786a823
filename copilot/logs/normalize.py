"""Validate raw fields and turn them into canonical records.

Every reader maps its source names onto canonical column names and hands an
Arrow table of raw values (strings or numbers) to :func:`normalize`. Rows that
fail a check are not dropped silently: their index and a reason (a kind and
the offending value) come back so the reader can quarantine them. Checks are
vectorised (Arrow compute); the common all-valid case costs one cast per column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from copilot.logs import schema
from copilot.logs.quarantine import (
    BAD_NUMBER,
    BAD_TIMESTAMP,
    BAD_VERB,
    MISSING_FIELD,
    NEGATIVE,
    OUT_OF_RANGE,
    Reason,
)
from copilot.logs.timestamps import parse_timestamps

_NUMERIC = {"status": (100, 599), "target_status": (100, 599)}
_INT64 = pa.int64()
_LATENCY = ("total_ms", "target_ms", "request_ms")
_SHORT_FAULTS = {
    "SpikeArrestViolation": schema.SPIKE_ARREST_FAULT,
    "QuotaViolation": schema.QUOTA_FAULT,
}
_TRUE = ["1", "true", "True", "TRUE", "yes"]
# Only the time and the proxy are required: a MessageLogging template may log
# no path, verb or status (Google's cloud-logging sample logs no path), and
# such a request still happened. Those columns are then null, never invented.
_REQUIRED_SOURCE = {"ts": "timestamp", "proxy": "apiproxy"}
_OPTIONAL_TEXT = ("verb", "path")


@dataclass
class Normalized:
    """Canonical records plus the rejected row indices and their reasons."""

    frame: pd.DataFrame
    rejected: list[tuple[int, Reason]]


class _Checks:
    """The rows rejected so far; the first failed check names a row's reason."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.bad = np.zeros(n, dtype=bool)
        self.reasons: dict[int, Reason] = {}

    def flag(
        self, mask: pa.Array | np.ndarray, kind: str, detail: Callable[[int], str]
    ) -> None:
        """Reject the rows of ``mask`` not rejected yet, as ``kind`` with ``detail(row)``."""
        mask_np = (
            np.asarray(pc.fill_null(mask, False))
            if isinstance(mask, pa.Array | pa.ChunkedArray)
            else mask
        )
        for i in np.flatnonzero(mask_np & ~self.bad):
            self.reasons[int(i)] = Reason(kind, detail(int(i)))
        self.bad |= mask_np


def normalize(raw: pa.Table, columns: tuple[str, ...] | None = None) -> Normalized:
    """Check and convert a table of raw fields (canonical names) to canonical records."""
    checks = _Checks(raw.num_rows)
    out: dict[str, pa.Array] = {}
    _required(raw, out, checks)
    for name in _OPTIONAL_TEXT:
        col = _column(raw, name)
        if col is not None:
            out[name] = _blank_to_null(_text(col))
    _timestamps(out, checks)
    _codes(raw, out, checks)
    _latencies(raw, out, checks)
    _verb_and_path(out, checks)
    keep = np.flatnonzero(~checks.bad)
    frame = _to_frame(raw, out, keep, columns)
    return Normalized(frame, sorted(checks.reasons.items()))


def _required(raw: pa.Table, out: dict[str, pa.Array], checks: _Checks) -> None:
    """The time and the proxy: absent, empty or null rejects the row."""
    for name, source in _REQUIRED_SOURCE.items():
        missing = lambda i, s=source: s  # noqa: E731 - the detail is the field's name
        col = _column(raw, name)
        if col is None:
            checks.flag(np.ones(checks.n, dtype=bool), MISSING_FIELD, missing)
            col = pa.nulls(checks.n, pa.string())
        if name != "ts" and not pa.types.is_integer(col.type):
            col = _text(col)
            checks.flag(_mask(col, lambda v: pc.equal(v, "")), MISSING_FIELD, missing)
        checks.flag(pc.is_null(col), MISSING_FIELD, missing)
        out[name] = col


def _timestamps(out: dict[str, pa.Array], checks: _Checks) -> None:
    raw_ts = out["ts"]
    ts = parse_timestamps(raw_ts)
    checks.flag(
        pc.and_(pc.is_null(ts), pc.is_valid(raw_ts)), BAD_TIMESTAMP, lambda i: _show(raw_ts, i)
    )
    out["ts"] = ts


def _codes(raw: pa.Table, out: dict[str, pa.Array], checks: _Checks) -> None:
    """HTTP status codes: numbers within 100..599."""
    for name, (lo, hi) in _NUMERIC.items():
        col = out.get(name) if name in out else _column(raw, name)
        if col is None:
            continue
        num, invalid = _to_number(col)
        shown = lambda i, c=col, nm=name: f"{nm} {_show(c, i)}"  # noqa: E731
        checks.flag(invalid, BAD_NUMBER, shown)
        checks.flag(pc.or_(pc.less(num, lo), pc.greater(num, hi)), OUT_OF_RANGE, shown)
        out[name] = num


def _latencies(raw: pa.Table, out: dict[str, pa.Array], checks: _Checks) -> None:
    """Durations: numbers, never negative."""
    for name in _LATENCY:
        col = _column(raw, name)
        if col is None:
            continue
        num, invalid = _to_number(col, pa.float64())
        shown = lambda i, c=col, nm=name: f"{nm} {_show(c, i)}"  # noqa: E731
        checks.flag(invalid, BAD_NUMBER, shown)
        checks.flag(pc.less(num, 0), NEGATIVE, shown)
        out[name] = num


def _verb_and_path(out: dict[str, pa.Array], checks: _Checks) -> None:
    """Verbs upper-cased and checked; a query string is cut from the path."""
    if "verb" in out:
        verb = out["verb"] = _map_text(out["verb"], pc.utf8_upper)
        checks.flag(
            _mask(verb, lambda v: pc.invert(pc.match_substring_regex(v, r"^[A-Z]{1,16}$"))),
            BAD_VERB,
            lambda i: _show(verb, i),
        )
    if "path" in out and pc.any(pc.match_substring(out["path"], "?")).as_py():
        out["path"] = pc.replace_substring_regex(out["path"], r"\?.*$", "")


def _text(col: pa.Array) -> pa.Array:
    """Trimmed text; a dictionary column stays one (the work is on its few values)."""
    return _map_text(col, pc.utf8_trim_whitespace)


def _blank_to_null(col: pa.Array) -> pa.Array:
    """Empty text becomes null: Apigee renders an unset flow variable as ''."""
    blank = _mask(col, lambda v: pc.equal(v, ""))
    if not blank.any():
        return col
    if pa.types.is_dictionary(col.type):
        indices = pc.if_else(pa.array(blank), pa.scalar(None, col.indices.type), col.indices)
        return pa.DictionaryArray.from_arrays(indices, col.dictionary)
    return pc.if_else(pa.array(blank), pa.scalar(None, col.type), col)


def _map_text(col: pa.Array, fn: object) -> pa.Array:
    if pa.types.is_dictionary(col.type):
        values = fn(pc.cast(col.dictionary, pa.string()))  # type: ignore[operator]
        return pa.DictionaryArray.from_arrays(col.indices, values)
    return fn(pc.cast(col, pa.string()))  # type: ignore[operator]


def _mask(col: pa.Array, predicate: object) -> np.ndarray:
    """``predicate`` over the values as a boolean row mask (false where null)."""
    if pa.types.is_dictionary(col.type):
        per_value = np.asarray(pc.fill_null(predicate(col.dictionary), False), dtype=bool)  # type: ignore[operator]
        if len(per_value) == 0:
            return np.zeros(len(col), dtype=bool)
        indices = np.asarray(pc.fill_null(col.indices, 0))
        return per_value[indices] & np.asarray(pc.is_valid(col))
    return np.asarray(pc.fill_null(predicate(col), False), dtype=bool)  # type: ignore[operator]


def _column(raw: pa.Table, name: str) -> pa.Array | None:
    if name not in raw.column_names:
        return None
    col = raw.column(name)
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _to_number(col: pa.Array, kind: pa.DataType = _INT64) -> tuple[pa.Array, pa.Array]:
    """Cast to a number; returns the numbers (null where empty/invalid) and the invalid mask."""
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        return pc.cast(col, kind), pa.array(np.zeros(len(col), dtype=bool))
    no_errors = pa.array(np.zeros(len(col), dtype=bool))
    try:  # the common case: clean numbers, empty already null
        return pc.cast(pc.cast(col, pa.float64()), kind), no_errors
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    text = pc.utf8_trim_whitespace(pc.cast(col, pa.string()))
    text = pc.if_else(pc.equal(text, ""), None, text)
    try:
        return pc.cast(pc.cast(text, pa.float64()), kind), pa.array(np.zeros(len(col), dtype=bool))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        ok = pc.match_substring_regex(text, r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
        clean = pc.if_else(ok, text, None)
        invalid = pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(ok, False)))
        return pc.cast(pc.cast(clean, pa.float64()), kind), invalid


def _show(col: pa.Array, i: int) -> str:
    value = col[i].as_py()
    return repr(value) if value is not None else "(empty)"


def _to_frame(
    raw: pa.Table, out: dict[str, pa.Array], keep: np.ndarray, columns: tuple[str, ...] | None
) -> pd.DataFrame:
    take = pa.array(keep)
    everything = len(keep) == raw.num_rows
    data: dict[str, object] = {}
    wanted = columns or schema.NAMES
    for name in wanted:
        if name in out:
            arr = out[name]
        else:
            arr = _column(raw, name)
            if arr is None:
                continue
        data[name] = _finish(name, arr if everything else pc.take(arr, take))
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(keep)))
    if "is_error" in wanted and "is_error" not in frame.columns:
        frame["is_error"] = (
            (frame["status"] >= 400).fillna(False).astype(bool) if "status" in frame else False
        )
    full = schema.conform(frame)
    return full[list(wanted)] if columns else full


def _finish(name: str, arr: pa.Array) -> pd.Series | np.ndarray:
    dtype = schema.DTYPES[name]
    if name == "is_error":
        text = pc.cast(arr, pa.string())
        return np.asarray(pc.fill_null(pc.is_in(text, pa.array(_TRUE)), False))
    if name == "fault_code":
        arr = _expand_faults(arr)
    if dtype == "category":
        default = schema.NOT_SET if name in ("api_product", "app", "client_id") else ""
        return pd.Series(_categorical(arr, None if name in schema.NULLABLE else default))
    if dtype == "string" and name in schema.NULLABLE:
        return pd.Series(pc.cast(arr, pa.string()).to_pandas(), dtype="string")
    if dtype == "string":
        return pd.Series(pc.fill_null(pc.cast(arr, pa.string()), "").to_pandas(), dtype="string")
    if dtype.startswith("datetime64"):
        return pd.Series(arr.to_pandas()).astype(dtype)
    if dtype == "Int16":
        return pd.Series(arr.to_pandas(), dtype="Int16")
    return arr.to_numpy(zero_copy_only=False).astype(dtype)


def _categorical(arr: pa.Array, default: str | None) -> pd.Categorical:
    """A pandas Categorical from text or dictionary data; null and empty become ``default``
    (``None``: they stay missing)."""
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(pc.cast(arr, pa.string()))
    values = pc.fill_null(pc.cast(arr.dictionary, pa.string()), "")
    values = pc.if_else(pc.equal(values, ""), pa.scalar(default, pa.string()), values)
    unique = pc.dictionary_encode(values)  # transformed values may collide; nulls stay null
    categories = unique.dictionary.to_pylist()
    if default is not None and default not in categories:
        categories.append(default)
    missing = -1 if default is None else categories.index(default)
    lut = np.asarray(pc.fill_null(unique.indices, missing), dtype=np.int32)
    indices = np.asarray(pc.fill_null(arr.indices, 0), dtype=np.int64)
    codes = lut[indices] if len(lut) else np.zeros(len(arr), dtype=np.int32)
    codes = np.where(np.asarray(pc.is_valid(arr.indices)), codes, missing)
    return pd.Categorical.from_codes(codes.astype(np.int32), categories=categories)


def _expand_faults(arr: pa.Array) -> pa.Array:
    text = pc.fill_null(pc.cast(arr, pa.string()), "")
    for short, full in _SHORT_FAULTS.items():
        text = pc.if_else(pc.equal(text, short), full, text)
    return text
