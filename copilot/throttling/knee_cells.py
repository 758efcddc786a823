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
minutes, not the requests (docs/fanout.md, 'Memory'); the counts are integers, so the
sums are exact in any order.
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


@dataclass(frozen=True)
class KneeCells:
    """Requests alike in all the knee reads, sorted by (load, failed, bucket)."""

    load: np.ndarray  # int64: requests in the trailing minute
    bad: np.ndarray  # bool: a 5xx or a backend 429
    bucket: np.ndarray  # int64 log bucket of the target time, from the lowest (-1: none)
    lo_bucket: int  # the lowest raw bucket
    count: np.ndarray  # float requests
    resampled: np.ndarray  # float (cells x resamples): requests weighted by their minute's draw
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
    weights = np.column_stack([w for w, _ in draws] or [np.zeros((minutes.size, 0))]).astype(float)
    cells = _Running(weights.shape[1])
    carry = np.zeros(0, np.int64)
    for ts, outcome, target in _whole_milliseconds(pieces()):
        context = np.concatenate([carry, ts])
        key = _key(outcome, target, trailing_load(context, ts))
        cells.add(_reduce_slice(key, np.searchsorted(minutes, ts // MINUTE_MS), weights))
        carry = context[context > ts[-1] - WINDOW_MS]
    uniq, count, resampled = cells.fold()
    load, bad, shifted = uniq >> (_BUCKET_BITS + 1), (uniq >> _BUCKET_BITS) & 1, uniq & 0x7FFF
    has = shifted > 0
    lo = int(shifted[has].min()) if has.any() else _BUCKET_OFFSET
    bucket = np.where(has, shifted - lo, NO_LATENCY)
    return KneeCells(
        load, bad.astype(bool), bucket, lo - _BUCKET_OFFSET, count, resampled, per_minute,
        [offset for _, offset in draws],
    )  # fmt: skip


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
    count = np.zeros(keys.size)
    resampled = np.zeros((keys.size, parts[0][2].shape[1]))
    for part in parts:
        at = np.searchsorted(keys, part[0])  # distinct within a part: no lost updates
        count[at] += part[1]
        resampled[at] += part[2]
    return keys, count, resampled


class _Running:
    """The cells so far: pieces' cells wait until they hold a quarter of the total's rows,
    then fold in at once: many small pieces cost a few merges per row, not one merge of
    the whole total each, and the cells held stay within about 2.25x the total's."""

    def __init__(self, resamples: int) -> None:
        self.total: Cells = (np.zeros(0, np.int64), np.zeros(0), np.zeros((0, resamples)))
        self.waiting: list[Cells] = []
        self.held = 0

    def add(self, part: Cells) -> None:
        self.waiting.append(part)
        self.held += part[0].size
        if self.held >= max(self.total[0].size // 4, 1024):
            self.fold()

    def fold(self) -> Cells:
        if self.waiting:
            self.total, self.waiting, self.held = _merge([self.total, *self.waiting]), [], 0
        return self.total


def _reduce_slice(
    key: np.ndarray, minute: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A slice's distinct keys, their requests, and their requests' minute weights summed."""
    from scipy import sparse

    uniq, inverse = np.unique(key, return_inverse=True)
    count = np.bincount(inverse, minlength=uniq.size).astype(float)
    if key.size <= _DENSE_ROWS:  # a small piece: its rows' weights fit, no matrix to build
        summed = np.zeros((uniq.size, weights.shape[1]))
        np.add.at(summed, inverse, weights[minute])
        return uniq, count, summed
    by_minute = sparse.csr_matrix(
        (np.ones(key.size), (inverse, minute)), shape=(uniq.size, weights.shape[0])
    )
    return uniq, count, by_minute @ weights
