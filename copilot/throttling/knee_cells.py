"""The knee's evidence, reduced as it is read: requests counted per (load met, failed, latency).

:func:`copilot.throttling.knee.find_knee` bins every request that reached the
backend by the load it met: the requests in the minute up to it, itself and
its same-millisecond peers included (:func:`trailing_load`). Its bootstrap
weighs minutes (Poisson(1) weights, drawn once the number of minutes is
known), so each cell also sums its requests' minute weights under every
resample. :func:`knee_cells` reads a proxy's share as consecutive time-ordered
pieces (a loaded share cut by :func:`share_pieces`, or a large share's slices
read from disk, ``copilot.throttling.shares``), twice: the minutes first (to
draw the weights), then the cells. Only requests that reached the backend
count. Each piece carries the previous minute's times of reaching requests and
hands its last millisecond on to the next, so every request's load is what one
pass over the whole stream gives, and each piece is reduced to its cells before
the next. Memory follows a piece, the cells (loads x latency buckets) and the
minutes, not the requests (docs/fanout.md, 'Memory'). The counts and weights are
integers, so the sums are exact in any order; they are kept as integers (int32
whenever no cell can overflow it: 4 bytes a resample), a piece's known cells are
added where they are and only new ones appended, so the cells are held once, plus a
piece's temporaries; floats are made a column at a time, where the knee reads one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from copilot.analysis.outcomes import E5XX, GATEWAY
from copilot.throttling.requests import Requests
from copilot.throttling.shares import cuts, in_slices
from copilot.throttling.tally import tally
from copilot.timeunits import MINUTE_MS

SLICE = 1 << 18  # rows: a slice's temporaries stay a few tens of MB
WINDOW_MS = MINUTE_MS  # the trailing window of a request's load
LOG_STEP = math.log(1.02)
NO_LATENCY = -1  # the bucket of a request without a target time (sorts first)
_BUCKET_BITS, _BUCKET_OFFSET = 15, 1 << 14  # packed bucket: raw + offset, 0 for none
_DENSE_ROWS = 1 << 12  # a piece this small sums its rows' weights directly
_WAITING_ROWS = 1 << 12  # new cells appended at once when the total is small
_BLOCK = 1 << 13  # cells whose sums are made and folded at once


@dataclass(frozen=True)
class KneeCells:
    """Requests alike in all the knee reads, sorted by (load, failed, bucket)."""

    load: np.ndarray  # int64: requests in the trailing minute
    bad: np.ndarray  # bool: a 5xx or a backend 429
    bucket: np.ndarray  # int64 log bucket of the target time, from the lowest (-1: none)
    lo_bucket: int  # the lowest raw bucket
    count: np.ndarray  # int requests
    resampled: np.ndarray  # int (cells x resamples): requests weighted by their minute's draw
    per_minute: np.ndarray  # requests per minute with any
    offsets: list[float]  # per resample: its bins' random shift

    @property
    def size(self) -> int:
        return int(self.count.size)


def trailing_load(context: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Per time in ``ts``: the times of sorted ``context`` in the window ending at it."""
    right = np.searchsorted(context, ts, side="right")
    return right - np.searchsorted(context, ts - WINDOW_MS, side="right")


Pieces = Callable[[], Iterable[Requests]]  # a fresh pass over a share, in time-ordered pieces


def knee_cells(pieces: Pieces, resamples: int) -> KneeCells:
    """The cells of the requests that reached the backend in the share ``pieces()`` reads
    (two passes: its minutes, then its cells), with ``resamples`` bootstrap draws (fixed
    seed: same logs, same interval)."""
    minutes, per_minute = _minutes(pieces)
    rng = np.random.default_rng(0)
    draws = [(rng.poisson(1.0, minutes.size), float(rng.uniform())) for _ in range(resamples)]
    heaviest = max([1] + [int(w.max(initial=0)) for w, _ in draws])
    dtype = sums_dtype(int(per_minute.sum()), heaviest)
    weights = np.column_stack([w for w, _ in draws] or [np.zeros((minutes.size, 0))])
    weights = weights.astype(dtype)
    cells = _Running(weights.shape[1], dtype)
    carry = np.zeros(0, np.int64)
    for ts, outcome, target in _whole_milliseconds(pieces()):
        context = np.concatenate([carry, ts])
        load = trailing_load(context, ts)
        carry = context[context > ts[-1] - WINDOW_MS]
        del context  # a piece's temporaries are all it adds to the cells held: few
        key = _key(outcome, target, load)
        for part in _slice_cells(key, np.searchsorted(minutes, ts // MINUTE_MS), weights):
            cells.add(part)
    uniq, count, resampled = cells.fold()
    load, bad, shifted = uniq >> (_BUCKET_BITS + 1), (uniq >> _BUCKET_BITS) & 1, uniq & 0x7FFF
    has = shifted > 0
    lo = int(shifted[has].min()) if has.any() else _BUCKET_OFFSET
    bucket = np.where(has, shifted - lo, NO_LATENCY)
    return KneeCells(
        load, bad.astype(bool), bucket, lo - _BUCKET_OFFSET, count, resampled, per_minute,
        [offset for _, offset in draws],
    )  # fmt: skip


def sums_dtype(requests: int, heaviest: int) -> type[np.signedinteger]:
    """The integers a share's cells are summed in: a cell's sum is at most all the
    ``requests`` each weighing the ``heaviest`` draw, so int32 when that fits (half the
    bytes per cell of int64 or float), else int64."""
    return np.int32 if requests * heaviest < 2**31 else np.int64


def share_pieces(req: Requests, proxy: int, rows: int = SLICE) -> Pieces:
    """One proxy's share of loaded requests as :func:`knee_cells` reads it: consecutive
    pieces of about ``rows`` (``shares.cuts``), never splitting a millisecond."""
    share = req.rows_of_proxy(proxy)
    if share.size == req.size:  # the requests are that share: pieces are views
        return lambda: (part.req for part in in_slices(req, rows))
    return lambda: (req.subset(share[a:b]) for a, b in cuts(req.ts[share], rows))


Columns = tuple[np.ndarray, np.ndarray, np.ndarray]  # ts, outcome, target_ms


def _reaching(piece: Requests) -> Columns:
    """The piece's requests that reached the backend (the gateway's own refusals never did)."""
    keep = (piece.outcome >> 1) != GATEWAY
    return piece.ts[keep], piece.outcome[keep], piece.target_ms[keep]


def _whole_milliseconds(pieces: Iterable[Requests]) -> Iterator[Columns]:
    """The reaching requests of ``pieces``, each part ending with a whole millisecond: a
    request's load counts its same-millisecond peers, so a piece's last millisecond waits
    for the next piece (a share's slices never split one; any other cut works too)."""
    held: Columns | None = None
    for piece in pieces:
        cols = _reaching(piece)
        if held is not None and held[0].size:
            cols = tuple(np.concatenate(pair) for pair in zip(held, cols, strict=True))
        if not cols[0].size:
            held = cols
            continue
        cut = int(np.searchsorted(cols[0], cols[0][-1], side="left"))
        if cut:
            yield tuple(c[:cut] for c in cols)
        held = tuple(c[cut:] for c in cols)
    if held is not None and held[0].size:
        yield held


def _minutes(pieces: Pieces) -> tuple[np.ndarray, np.ndarray]:
    """The distinct minutes of the reaching requests and their requests."""
    found = [tally(_reaching(piece)[0] // MINUTE_MS) for piece in pieces()]
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    minutes, inverse = np.unique(np.concatenate([m for m, _ in found]), return_inverse=True)
    counts = np.bincount(inverse, weights=np.concatenate([c for _, c in found]))
    return minutes, counts.astype(np.int64)


def _key(outcome: np.ndarray, lat: np.ndarray, load: np.ndarray) -> np.ndarray:
    """One int64 per request, ordered as (load, failed, bucket) sort."""
    has = np.isfinite(lat) & (lat > 0)
    # finite float32 times fall in buckets -349 .. 4480: the offset keeps them in 15 bits
    raw = np.floor(np.log(np.maximum(lat[has], 1e-3)) / LOG_STEP).astype(np.int64)
    shifted = np.zeros(outcome.size, np.int64)
    shifted[has] = raw + _BUCKET_OFFSET
    bad = ((outcome >> 1) == E5XX) | ((outcome & 1) == 1)
    return (load.astype(np.int64) << 1 | bad) << _BUCKET_BITS | shifted


Cells = tuple[np.ndarray, np.ndarray, np.ndarray]  # sorted keys, requests, resampled sums


def _merge(parts: list[Cells]) -> Cells:
    """Sets of cells as one (one row per distinct key)."""
    keys = np.unique(np.concatenate([part[0] for part in parts]))
    count = np.zeros(keys.size, parts[0][1].dtype)
    resampled = np.zeros((keys.size, parts[0][2].shape[1]), parts[0][2].dtype)
    for part in parts:
        at = np.searchsorted(keys, part[0])  # distinct within a part: no lost updates
        count[at] += part[1]
        resampled[at] += part[2]
    return keys, count, resampled


class _Running:
    """The cells so far. A piece's keys already held are added where they are; new keys
    wait until they hold a sixteenth of the total's rows, then are appended at once, the
    rows grown in place (``ndarray.resize``: a realloc, not a copy), so no fold holds two
    totals. Rows stay in arrival order, found through the sorted keys (``row``: each
    key's row), and are put in key order once, at the end."""

    def __init__(self, resamples: int, dtype: type[np.signedinteger]) -> None:
        self.keys = np.zeros(0, np.int64)  # sorted
        self.row = np.zeros(0, np.intp)  # per sorted key: its row in count and resampled
        self.count = np.zeros(0, dtype)
        self.resampled = np.zeros((0, resamples), dtype)
        self.waiting: list[Cells] = []
        self.held = 0

    def add(self, part: Cells) -> None:
        keys, count, resampled = part
        at = np.minimum(np.searchsorted(self.keys, keys), max(self.keys.size - 1, 0))
        held = self.keys[at] == keys if self.keys.size else np.zeros(keys.size, bool)
        if not held.all():
            new = ~held
            self.waiting.append((keys[new], count[new], resampled[new]))
            self.held += int(new.sum())
            keys, count, resampled, at = keys[held], count[held], resampled[held], at[held]
        rows = self.row[at]  # distinct keys: distinct rows, no lost updates
        self.count[rows] += count
        self.resampled[rows] += resampled
        if self.held >= max(self.keys.size // 16, _WAITING_ROWS):
            self._append()

    def _append(self) -> None:
        if not self.waiting:
            return
        keys, count, resampled = _merge(self.waiting)
        self.waiting, self.held = [], 0
        n = self.row.size
        self.count.resize(n + keys.size)  # in place: nothing else refers to them
        self.resampled.resize((n + keys.size, self.resampled.shape[1]))
        self.count[n:], self.resampled[n:] = count, resampled
        at = np.searchsorted(self.keys, keys)
        self.keys = np.insert(self.keys, at, keys)
        self.row = np.insert(self.row, at, np.arange(n, n + keys.size))

    def fold(self) -> Cells:
        """Every cell, in key order (the rows permuted in place, a column at a time)."""
        self._append()
        self.count = self.count[self.row]
        for j in range(self.resampled.shape[1]):
            self.resampled[:, j] = self.resampled[self.row, j]
        self.row = np.arange(self.row.size)
        return self.keys, self.count, self.resampled


def _slice_cells(key: np.ndarray, minute: np.ndarray, weights: np.ndarray) -> Iterator[Cells]:
    """A slice's distinct keys, their requests, and their requests' minute weights summed
    (integers of ``weights``' type), in blocks of at most ``_BLOCK`` keys: one block's
    sums are held at a time, not the slice's."""
    from scipy import sparse

    order = np.argsort(key, kind="stable")
    ordered = key[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    uniq, bounds = ordered[starts], np.r_[starts, key.size]
    count = np.diff(bounds).astype(weights.dtype)
    by_minute = minute[order]  # each key's requests' minutes, key after key
    del order, ordered  # not held while the blocks are folded
    if key.size <= _DENSE_ROWS or not weights.shape[1]:  # its rows' weights fit: no matrix
        summed = np.zeros((uniq.size, weights.shape[1]), weights.dtype)
        if key.size:
            summed = np.add.reduceat(weights[by_minute], starts, axis=0)
        yield uniq, count, summed
        return
    # a row per key, a column per minute: its requests' weights summed by one product
    matrix = sparse.csr_matrix(
        (np.ones(key.size, weights.dtype), by_minute, bounds), shape=(uniq.size, weights.shape[0])
    )
    for a in range(0, uniq.size, _BLOCK):
        b = a + _BLOCK
        yield uniq[a:b], count[a:b], matrix[a:b] @ weights  # integer product: exact
