"""Avro's binary encoding decoded in lanes: one field of many records per numpy step.

Avro (avro.apache.org/docs/1.11.1/specification/#binary-encoding) writes a
record as its fields one after the other: ``long``/``int`` as zig-zag varints,
``double``/``float`` as 8/4 little-endian bytes, ``boolean`` as a byte,
``string``/``bytes`` as a varint length and the bytes, a union as a varint
branch index and the branch's value. A "lane" is a run of consecutive records
whose start is known; :func:`step` decodes one field at the positions of every
lane at once. Lanes begin at block starts, and inside a large block at the
starts :func:`split` finds, so a block of thousands of records is not decoded
one record at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VARINT_BYTES = 10  # a 64-bit zig-zag varint takes at most 10 bytes
_SHIFTS = np.arange(0, 7 * VARINT_BYTES, 7, dtype=np.uint64)
_RANGE = np.arange(VARINT_BYTES)
# A large block is cut into lanes of about this many records; a smaller one is one lane.
SEGMENT_RECORDS = 64
# A guessed record start must be followed by this many records that decode.
PROBE_RECORDS = 3


_ANY_BIT = np.bitwise_or.reduce  # the bits set in any element: one call, no wrapper
_FIXED = ("double", "float", "boolean")


class AvroDataError(ValueError):
    """The block bytes do not decode under the writer's schema."""


class CutsMissed(AvroDataError):
    """A guessed record start inside a block was not one (the bytes may be fine)."""


@dataclass(frozen=True)
class FieldPlan:
    """How one writer field is laid out, and whether its column is wanted."""

    name: str
    kind: str  # long, int, double, float, boolean, string or bytes
    null_branch: int | None  # the union index of "null"; None: not a union
    scale: int | None  # timestamp: microseconds per unit; None: not a timestamp
    keep: bool

    @property
    def text(self) -> bool:
        return self.kind in ("string", "bytes")


@dataclass
class Decoded:
    """One field of every lane's current record: validity, value, and for text the length."""

    valid: np.ndarray | bool  # True: not a union, every value is there
    value: np.ndarray  # numbers; for text, where its bytes start
    length: np.ndarray | None


def step(buf: np.ndarray, pos: np.ndarray, field: FieldPlan) -> tuple[np.ndarray, Decoded]:
    """Decode ``field`` at ``pos`` in every lane: the positions after it, and the values."""
    valid: np.ndarray | bool = True
    if field.null_branch is not None:
        tag = buf[pos]
        if _ANY_BIT(tag) & 0xFD:  # a two-branch union's index is 0 or 1: zig-zag bytes 0 or 2
            raise AvroDataError(f"{field.name}: union branch out of range")
        valid = tag == 2 * (1 - field.null_branch)
        pos = pos + 1
    if not (field.keep or field.text or field.kind in _FIXED):
        after = _varint_end(buf, pos)  # a number atc does not read: only its size matters
        return (after if valid is True else np.where(valid, after, pos)), Decoded(valid, pos, None)
    value, after = _value(buf, pos, field)
    length = None
    if field.text:
        if np.any((value < 0) & valid):
            raise AvroDataError(f"{field.name}: negative length")
        value, length = after - value, value
    return (after if valid is True else np.where(valid, after, pos)), Decoded(valid, value, length)


def split(buf: np.ndarray, start: int, end: int, count: int, fields: list[FieldPlan]) -> list[int]:
    """Likely record starts in a block (its own start first), about SEGMENT_RECORDS apart.

    From every byte of a short stretch at each cut, records are decoded
    tolerantly; a stretch holds a true start, and a wrong one soon breaks the
    grammar (a union index other than 0 or 1, a negative length, a value past
    the block). Where the first survivor lands PROBE_RECORDS records later is
    taken. Only a guess: the caller checks that the lane before ends exactly
    there, and otherwise decodes the block as one lane.
    """
    pieces = count // SEGMENT_RECORDS
    if pieces < 2:
        return [start]
    size = end - start
    width = 2 * size // count + 16  # two records on average: a record starts within
    guess = start + np.arange(1, pieces, dtype=np.int64) * size // pieces
    pos = (guess[:, None] + np.arange(width)).ravel()
    owner = np.repeat(np.arange(1, pieces), width)
    keep = pos < end
    if fields[0].null_branch is not None:
        keep &= (buf[np.minimum(pos, end)] & 0xFD) == 0
    pos, owner = pos[keep], owner[keep]
    for _ in range(PROBE_RECORDS):
        for field in fields:
            pos, ok = _probe(buf, pos, field, end)
            pos, owner = pos[ok], owner[ok]
    _, first = np.unique(owner, return_index=True)
    landing = np.unique(pos[first])
    return [start, *landing[(landing > start) & (landing < end)].tolist()]


def _probe(
    buf: np.ndarray, pos: np.ndarray, field: FieldPlan, end: int
) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`step`, but lanes that break the grammar are flagged, not errors."""
    ok = np.ones(len(pos), dtype=bool)
    valid: np.ndarray | bool = True
    if field.null_branch is not None:
        tag = buf[pos]
        ok = (tag & 0xFD) == 0
        valid = tag == 2 * (1 - field.null_branch)
        pos = pos + 1
    value, after = _value(buf, pos, field)
    if field.text:
        ok &= ~((value < 0) & valid)
    after = np.where(valid, after, pos)
    ok &= after <= end
    return np.minimum(after, end), ok


def _value(buf: np.ndarray, pos: np.ndarray, field: FieldPlan) -> tuple[np.ndarray, np.ndarray]:
    """(value, position after it); for text, value is the length (the bytes end at after)."""
    kind = field.kind
    if kind in ("double", "float"):
        width = 8 if kind == "double" else 4
        raw = np.ascontiguousarray(buf[pos[:, None] + _RANGE[:width]])
        return raw.view("<f8" if width == 8 else "<f4").ravel().astype(np.float64), pos + width
    if kind == "boolean":
        return buf[pos] != 0, pos + 1
    value, after = _varint(buf, pos, wide=field.scale is not None)
    if field.text:
        return value, after + value
    if field.scale is not None and field.scale != 1:
        value = value * field.scale
    return value, after


def _varint(buf: np.ndarray, pos: np.ndarray, wide: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Zig-zag varints starting at ``pos``: their values and the positions after them.

    ``wide``: expect long varints (times: 8 bytes), skip the short cases' tests.
    """
    if not wide:
        first = buf[pos]
        if not _ANY_BIT(first) & 0x80:  # one byte each: lengths, small numbers
            small = first.astype(np.int64)
            return (small >> 1) ^ -(small & 1), pos + 1
        raw = buf[pos[:, None] + _RANGE[:3]]  # codes and durations: up to 3 bytes
        if _ANY_BIT(raw[:, 2]) & 0x80:  # larger numbers
            raw = buf[pos[:, None] + _RANGE]
    else:
        raw = buf[pos[:, None] + _RANGE]
    more = raw >= 0x80
    size = np.argmin(more, axis=1) + 1
    width = raw.shape[1]
    used = _RANGE[:width] < size[:, None]
    bits = ((raw & 0x7F).astype(np.uint64) << _SHIFTS[:width]) * used
    unsigned = bits.sum(axis=1, dtype=np.uint64)  # the 7-bit groups do not overlap: sum is or
    half = (unsigned >> np.uint64(1)).astype(np.int64)
    return half ^ -(unsigned & np.uint64(1)).astype(np.int64), pos + size


def _varint_end(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The positions after the varints at ``pos``, without their values."""
    first = buf[pos]
    if not _ANY_BIT(first) & 0x80:
        return pos + 1
    more = buf[pos[:, None] + _RANGE] >= 0x80
    return pos + np.argmin(more, axis=1) + 1
