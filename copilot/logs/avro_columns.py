"""Decode Avro blocks straight into Arrow columns, many records at a time, with numpy.

Avro's binary encoding (avro.apache.org/docs/1.11.1/specification/#binary-encoding)
writes a record as its fields one after the other: ``long``/``int`` as zig-zag
varints, ``double`` as 8 little-endian bytes, ``string``/``bytes`` as a varint
length and the bytes, a union as a varint branch index and the branch's value.
A record's start is only known once the record before it is decoded, but each
block starts afresh: the blocks of a window are decoded in lockstep, record
``k`` of every block at once, one field at a time, as vectorised numpy steps
over the blocks ("lanes"). The cost is one set of array operations per (record
index, field), not per value, so a window of N blocks of R records costs R x
fields steps whatever N is: many small blocks (fastavro's writer flushes every
~16 kB) decode fast; few huge blocks fall back to fewer lanes.

Only flat records of primitive fields, optionally nullable (``["null", T]``),
are handled; :func:`plan` returns ``None`` for anything else and the caller
decodes record by record with fastavro. The Arrow types are those the records
path gives: int64, float64, bool, string, binary and ``timestamp[us, UTC]``
for ``timestamp-micros``/``-millis`` (fastavro's aware datetimes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

_PRIMITIVES = {"long", "int", "double", "float", "boolean", "string", "bytes"}
_TIMESTAMP_SCALE = {"timestamp-micros": 1, "timestamp-millis": 1000}
_ARROW = {
    "long": pa.int64(),
    "int": pa.int64(),
    "double": pa.float64(),
    "float": pa.float64(),
    "boolean": pa.bool_(),
    "string": pa.string(),
    "bytes": pa.binary(),
}
_BQ_TIMESTAMP = pa.timestamp("us", tz="UTC")
_VARINT_BYTES = 10  # a 64-bit zig-zag varint takes at most 10 bytes
_PADDING = 32  # more than a varint or a double reads past a position
_SHIFTS = np.arange(0, 7 * _VARINT_BYTES, 7, dtype=np.uint64)
_RANGE = np.arange(_VARINT_BYTES)


class AvroDataError(ValueError):
    """The block bytes do not decode under the writer's schema."""


@dataclass(frozen=True)
class FieldPlan:
    """How one writer field is laid out, and whether its column is wanted."""

    name: str
    kind: str  # one of _PRIMITIVES
    null_branch: int | None  # the union index of "null"; None: not a union
    scale: int | None  # timestamp: microseconds per unit; None: not a timestamp
    keep: bool


def plan(schema: Any, keep: Sequence[str]) -> list[FieldPlan] | None:
    """Per-field decoding plan of a writer schema, or None if it is not flat primitives."""
    if not (isinstance(schema, dict) and schema.get("type") == "record"):
        return None
    wanted = set(keep)
    fields = []
    for field in schema.get("fields", []):
        shape = _shape(field.get("type"))
        if shape is None:
            return None
        kind, null_branch, scale = shape
        fields.append(FieldPlan(field["name"], kind, null_branch, scale, field["name"] in wanted))
    return fields


def _shape(kind: Any) -> tuple[str, int | None, int | None] | None:
    null_branch = None
    if isinstance(kind, list):
        if len(kind) != 2 or "null" not in kind:
            return None  # several value branches: the records path turns them into text
        null_branch = kind.index("null")
        kind = kind[1 - null_branch]
    scale = None
    if isinstance(kind, dict):
        logical = kind.get("logicalType")
        scale = _TIMESTAMP_SCALE.get(logical) if kind.get("type") == "long" else None
        if logical is not None and scale is None:
            return None  # dates, decimals, uuids ...: fastavro's conversions apply
        kind = kind.get("type")
    if kind not in _PRIMITIVES:
        return None
    return kind, null_branch, scale


@dataclass
class _Column:
    """Values of one field for every row of the window, filled record index by index."""

    valid: np.ndarray
    values: np.ndarray  # int64 / float64 / bool; string and bytes: start offsets
    lengths: np.ndarray | None  # string and bytes only


def decode_blocks(
    payloads: Sequence[bytes | memoryview], counts: Sequence[int], fields: list[FieldPlan]
) -> pa.Table:
    """The records of decompressed block payloads as a table of the kept fields."""
    data = b"".join(payloads) + bytes(_PADDING)  # reads past the end stay in bounds
    buf = np.frombuffer(data, dtype=np.uint8)
    sizes = np.fromiter((len(p) for p in payloads), dtype=np.int64, count=len(payloads))
    lane_end = np.cumsum(sizes)
    pos_all = lane_end - sizes
    count = np.asarray(counts, dtype=np.int64)
    first_row = np.cumsum(count) - count
    rows = int(count.sum())
    columns = {f.name: _new_column(f, rows) for f in fields if f.keep}
    limit = len(buf) - _PADDING + 1  # past the last block: an overrun never ends on time
    for k in range(int(count.max(initial=0))):
        lanes = np.flatnonzero(count > k)
        pos = pos_all[lanes]
        at = first_row[lanes] + k
        for field in fields:
            pos = _step(buf, pos, field, columns.get(field.name), at)
            np.minimum(pos, limit, out=pos)
        pos_all[lanes] = pos
    if not np.array_equal(pos_all, lane_end):
        raise AvroDataError("records do not end where their block ends")
    return pa.table({f.name: _arrow(buf, f, columns[f.name]) for f in fields if f.keep})


def _new_column(field: FieldPlan, rows: int) -> _Column:
    kind = field.kind
    dtype = np.float64 if kind in ("double", "float") else bool if kind == "boolean" else np.int64
    lengths = np.zeros(rows, dtype=np.int64) if kind in ("string", "bytes") else None
    return _Column(np.zeros(rows, dtype=bool), np.zeros(rows, dtype=dtype), lengths)


def _step(
    buf: np.ndarray, pos: np.ndarray, field: FieldPlan, column: _Column | None, at: np.ndarray
) -> np.ndarray:
    """Decode one field at ``pos`` in every lane; returns the positions after it."""
    valid: np.ndarray | bool = True
    if field.null_branch is not None:
        tag = buf[pos]
        if np.any(tag & 0xFD):  # a two-branch union's index is 0 or 1: zig-zag bytes 0 or 2
            raise AvroDataError(f"{field.name}: union branch out of range")
        valid = tag == 2 * (1 - field.null_branch)
        pos = pos + 1
    value, after = _value(buf, pos, field)
    if field.kind in ("string", "bytes") and np.any((value < 0) & valid):
        raise AvroDataError(f"{field.name}: negative length")
    if column is not None:
        column.valid[at] = valid
        if column.lengths is not None:
            column.values[at] = after - value
            column.lengths[at] = value
        else:
            column.values[at] = value
    return after if valid is True else np.where(valid, after, pos)


def _value(buf: np.ndarray, pos: np.ndarray, field: FieldPlan) -> tuple[np.ndarray, np.ndarray]:
    """(value, position after it); for text, value is the length (the bytes end at after)."""
    kind = field.kind
    if kind in ("double", "float"):
        width = 8 if kind == "double" else 4
        raw = np.ascontiguousarray(buf[pos[:, None] + _RANGE[:width]])
        return raw.view("<f8" if width == 8 else "<f4").ravel().astype(np.float64), pos + width
    if kind == "boolean":
        return buf[pos] != 0, pos + 1
    value, after = _varint(buf, pos)
    if kind in ("string", "bytes"):
        return value, after + value
    if field.scale is not None and field.scale != 1:
        value = value * field.scale
    return value, after


def _varint(buf: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zig-zag varints starting at ``pos``: their values and the positions after them."""
    first = buf[pos]
    if not np.any(first & 0x80):  # one byte each: lengths, small numbers
        small = first.astype(np.int64)
        return (small >> 1) ^ -(small & 1), pos + 1
    raw = buf[pos[:, None] + _RANGE[:3]]  # codes and durations: up to 3 bytes
    if np.any(raw[:, 2] & 0x80):  # times (8 bytes) and larger numbers
        raw = buf[pos[:, None] + _RANGE]
    more = raw >= 0x80
    size = np.argmin(more, axis=1) + 1
    width = raw.shape[1]
    used = _RANGE[:width] < size[:, None]
    bits = ((raw & 0x7F).astype(np.uint64) << _SHIFTS[:width]) * used
    unsigned = np.bitwise_or.reduce(bits, axis=1)
    half = (unsigned >> np.uint64(1)).astype(np.int64)
    return half ^ -(unsigned & np.uint64(1)).astype(np.int64), pos + size


def _arrow(buf: np.ndarray, field: FieldPlan, column: _Column) -> pa.Array:
    validity = None
    if not column.valid.all():
        validity = pa.py_buffer(np.packbits(column.valid, bitorder="little"))
    rows = len(column.valid)
    if column.lengths is not None:
        return _text(buf, field, column)
    if field.kind == "boolean":
        return pa.array(column.values, mask=None if validity is None else ~column.valid)
    kind = _BQ_TIMESTAMP if field.scale is not None else _ARROW[field.kind]
    return pa.Array.from_buffers(kind, rows, [validity, pa.py_buffer(column.values)])


def _text(buf: np.ndarray, field: FieldPlan, column: _Column) -> pa.Array:
    """Strings or bytes cut out of the window without a Python object each.

    Rows are in file order, so their values sit at increasing places in the
    window: one binary array over the whole window whose elements alternate
    value, gap, value, gap ... (offsets start, end, start, end ...) holds them
    all, and Arrow's ``take`` of the even elements copies them out.
    """
    rows = len(column.valid)
    bounds = np.empty(2 * rows + 1, dtype=np.int64)
    bounds[0] = 0
    bounds[1::2] = np.where(column.valid, column.values, 0)
    bounds[2::2] = np.where(column.valid, column.values + column.lengths, 0)
    np.maximum.accumulate(bounds, out=bounds)  # a null row: an empty value where it lies
    whole = pa.Array.from_buffers(
        pa.large_binary(), 2 * rows, [None, pa.py_buffer(bounds), pa.py_buffer(buf)]
    )
    picks = np.arange(1, 2 * rows, 2, dtype=np.int64)
    mask = None if column.valid.all() else ~column.valid
    values = whole.take(pa.array(picks, mask=mask))
    return values.cast(_ARROW[field.kind])  # to string: checks the UTF-8, as fastavro does
