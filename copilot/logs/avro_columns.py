"""Decode Avro blocks straight into Arrow columns, many records at a time, with numpy.

A record's start is only known once the record before it is decoded, but each
block starts afresh: the blocks of a window are decoded in lockstep, record
``k`` of every block at once, one field at a time, as vectorised numpy steps
over the blocks (lanes, :mod:`copilot.logs.avro_lanes`). The cost is a set of
array operations per (record index, field), not per value: many small blocks
(fastavro's writer flushes every ~16 kB) decode fast, and a large block
(thousands of records) is cut into lanes at likely record starts, checked
afterwards: each lane must end exactly where the next begins, and each block
must hold its count of records; if a guess was wrong, :class:`CutsMissed`
tells the caller to read that window with fastavro (as fast as before, exact).

Only flat records of primitive fields, optionally nullable (``["null", T]``),
are handled; :func:`plan` returns ``None`` for anything else and the caller
decodes record by record with fastavro. The Arrow types are those the records
path gives: int64, float64, bool, string, binary and ``timestamp[us, UTC]``
for ``timestamp-micros``/``-millis`` (fastavro's aware datetimes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from copilot.logs.avro_lanes import (
    SEGMENT_RECORDS,
    AvroDataError,
    CutsMissed,
    Decoded,
    FieldPlan,
    split,
    step,
)

__all__ = ["AvroDataError", "CutsMissed", "FieldPlan", "arrow_type", "decode_blocks", "plan"]

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
_PADDING = 32  # more than a varint or a double reads past a position


def plan(schema: Any, keep: Sequence[str]) -> list[FieldPlan] | None:
    """Per-field decoding plan of a writer schema, or None if it is not flat primitives.

    A field atc does not read only has to be stepped over, so any logical type
    on a primitive (BigQuery's ``datetime`` strings, ``decimal`` bytes ...) and
    an enum (a varint) are fine there.
    """
    if not (isinstance(schema, dict) and schema.get("type") == "record"):
        return None
    wanted = set(keep)
    fields = []
    for field in schema.get("fields", []):
        kept = field["name"] in wanted
        shape = _shape(field.get("type"), kept)
        if shape is None:
            return None
        kind, null_branch, scale = shape
        fields.append(FieldPlan(field["name"], kind, null_branch, scale, kept))
    return fields or None  # a record of no fields takes no bytes: nothing to step through


def _shape(kind: Any, kept: bool) -> tuple[str, int | None, int | None] | None:
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
        if kept and logical is not None and scale is None:
            return None  # dates, decimals, uuids ...: fastavro's conversions apply
        kind = "long" if kind.get("type") == "enum" and not kept else kind.get("type")
    if kind not in _PRIMITIVES:
        return None
    return kind, null_branch, scale


def decode_blocks(
    payloads: Sequence[bytes | memoryview],
    counts: Sequence[int],
    fields: list[FieldPlan],
    *,
    cut: bool = True,
) -> pa.Table:
    """The records of decompressed block payloads as a table of the kept fields.

    Raises :class:`CutsMissed` when a large block's guessed record starts were
    wrong (the caller decodes that window another way); ``cut=False`` keeps one
    lane per block (exact, but a block of R records takes R steps).
    """
    buf = np.frombuffer(b"".join([*payloads, bytes(_PADDING)]), dtype=np.uint8)
    sizes = np.fromiter((len(p) for p in payloads), dtype=np.int64, count=len(payloads))
    ends = np.cumsum(sizes)
    starts = ends - sizes
    count = np.asarray(counts, dtype=np.int64)
    if cut and count.max(initial=0) >= 2 * SEGMENT_RECORDS:
        lanes = [
            split(buf, int(s), int(e), int(c), fields)
            for s, e, c in zip(starts, ends, count, strict=True)
        ]
        if any(len(cuts) > 1 for cuts in lanes):
            try:
                return _decode(buf, lanes, ends, count, fields)
            except AvroDataError as exc:
                raise CutsMissed(str(exc)) from exc
    return _decode(buf, [[int(s)] for s in starts], ends, count, fields)


def _decode(
    buf: np.ndarray,
    lanes: list[list[int]],
    block_ends: np.ndarray,
    count: np.ndarray,
    fields: list[FieldPlan],
) -> pa.Table:
    """Decode lanes (each block's lane starts) until each reaches the next lane's start."""
    starts = np.fromiter((s for cuts in lanes for s in cuts), dtype=np.int64)
    block = np.repeat(np.arange(len(lanes)), [len(cuts) for cuts in lanes])
    ends = np.append(starts[1:], 0)
    last = np.cumsum([len(cuts) for cuts in lanes]) - 1
    ends[last] = block_ends
    pos = starts.copy()
    limit = len(buf) - _PADDING + 1  # past the last block: an overrun never ends on time
    kept = [f for f in fields if f.keep]
    steps: list[np.ndarray] = []
    values: dict[str, list[Decoded]] = {f.name: [] for f in kept}
    active = np.flatnonzero(pos < ends)
    while len(active):
        at = pos[active]
        for field in fields:
            at, got = step(buf, at, field)
            np.minimum(at, limit, out=at)
            if field.keep:
                values[field.name].append(got)
        pos[active] = at
        steps.append(active)
        active = active[at < ends[active]]
    if not np.array_equal(pos, ends):
        raise AvroDataError("records do not end where their block ends")
    rows = _rows(steps, len(starts), block, count)
    return pa.table({f.name: _arrow(buf, f, values[f.name], rows) for f in kept})


def arrow_type(field: FieldPlan) -> pa.DataType:
    """The Arrow type of a field's column (that of fastavro's values, too)."""
    return _BQ_TIMESTAMP if field.scale is not None else _ARROW[field.kind]


def _rows(steps: list[np.ndarray], lanes: int, block: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The row (file order) of each decoded value, step after step."""
    lane = np.concatenate(steps) if steps else np.zeros(0, dtype=np.int64)
    per_lane = np.bincount(lane, minlength=lanes)
    if not np.array_equal(np.bincount(block, weights=per_lane, minlength=len(count)), count):
        raise AvroDataError("a block holds another number of records than its header says")
    first = np.cumsum(per_lane) - per_lane
    k = np.repeat(np.arange(len(steps)), [len(s) for s in steps])
    return first[lane] + k


def _gather(parts: list[np.ndarray], rows: np.ndarray, empty: Any) -> np.ndarray:
    """Step-by-step values put in row order (``empty``: the dtype when there are none)."""
    out = np.empty(len(rows), dtype=parts[0].dtype if parts else empty)
    if parts:
        out[rows] = np.concatenate(parts)
    return out


def _arrow(buf: np.ndarray, field: FieldPlan, got: list[Decoded], rows: np.ndarray) -> pa.Array:
    sizes = [len(g.value) for g in got]
    valid = _gather(
        [
            np.ones(n, dtype=bool) if g.valid is True else g.valid
            for g, n in zip(got, sizes, strict=True)
        ],
        rows,
        bool,
    )
    value = _gather([g.value for g in got], rows, bool if field.kind == "boolean" else np.int64)
    if field.text:
        length = _gather([g.length for g in got], rows, np.int64)
        return _text(buf, field, valid, value, length)
    if field.kind == "boolean":
        return pa.array(value, mask=None if valid.all() else ~valid)
    validity = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(arrow_type(field), len(rows), [validity, pa.py_buffer(value)])


def _text(
    buf: np.ndarray, field: FieldPlan, valid: np.ndarray, start: np.ndarray, length: np.ndarray
) -> pa.Array:
    """Strings or bytes cut out of the window without a Python object each.

    Rows are in file order, so their values sit at increasing places in the
    window: one binary array over the whole window whose elements alternate
    gap, value, gap, value ... (offsets 0, start, end, start, end ...) holds
    them all, and Arrow's ``take`` of the odd elements copies them out.
    """
    rows = len(valid)
    bounds = np.empty(2 * rows + 1, dtype=np.int64)
    bounds[0] = 0
    bounds[1::2] = np.where(valid, start, 0)
    bounds[2::2] = np.where(valid, start + length, 0)
    np.maximum.accumulate(bounds, out=bounds)  # a null row: an empty value where it lies
    whole = pa.Array.from_buffers(
        pa.large_binary(), 2 * rows, [None, pa.py_buffer(bounds), pa.py_buffer(buf)]
    )
    picks = np.arange(1, 2 * rows, 2, dtype=np.int64)
    values = whole.take(pa.array(picks, mask=None if valid.all() else ~valid))
    return values.cast(_ARROW[field.kind])  # to string: checks the UTF-8, as fastavro does
