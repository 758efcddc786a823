"""A replay stream on disk, read in pieces: what sizing reads on a share too large to hold.

A :class:`copilot.throttling.sizing.Stream` holds one policy's requests in
memory. On a share above ``shares.SHARE_ROWS`` requests that is what must not
happen (docs/fanout.md, 'Memory'), so the advice writes the same rows (time,
party, legitimate, healthy) with a :class:`StreamWriter` to raw column files in
a scratch directory (``copilot.spill``) and gets a :class:`SlicedStream` that
reads them back in :class:`Piece` s of about ``shares.SLICE_ROWS`` rows, never
splitting a millisecond. Everything here is an exact equivalent of the
in-memory computation on the same rows, carrying across a piece's edge only
what the next piece needs: a tally's last key, a sliding window's tail, a
replay's state (``copilot.throttling.replay_carry``); the rate statistics fold in
``copilot.throttling.sliced_stats``. Memory follows a piece,
the per-minute counts and the spread of per-second counts, not the requests;
:func:`peak_of` also holds the requests of one window (an hour's, or a day's for
a quota by the day).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from copilot import spill
from copilot.spill import SpillDir
from copilot.throttling.options import REJECT_SHARE
from copilot.throttling.replay import SpikeArrestSpec
from copilot.throttling.replay_carry import Replayer
from copilot.throttling.replay_quota import QuotaSpec
from copilot.throttling.shares import SLICE_ROWS, cuts
from copilot.throttling.sizing import Rejections
from copilot.throttling.sliced_stats import Tallies
from copilot.timeunits import HOUR_MS, MINUTE_MS

READ_ROWS = 1 << 16  # rows read from disk at once, at least (small pieces are cut from them)
COLUMNS = (("ts", np.int64), ("party", np.int32), ("legit", np.bool_), ("healthy", np.bool_))


class Piece(NamedTuple):
    """Consecutive rows of a stream, in time order."""

    ts: np.ndarray  # int64 epoch ms
    party: np.ndarray  # int32 party id (the policy's identifier when keyed)
    legit: np.ndarray  # bool: not from an abusive client
    healthy: np.ndarray  # bool: outside excluded windows

    @property
    def size(self) -> int:
        return int(self.ts.size)

    @property
    def counted(self) -> np.ndarray:
        """Healthy and legitimate: the requests the 0.1 % rule counts."""
        return self.legit & self.healthy

    def take(self, index: np.ndarray | slice) -> Piece:
        return Piece(*(column[index] for column in self))


def _joined(a: Piece | None, b: Piece) -> Piece:
    if a is None or not a.size:
        return b
    return Piece(*(np.concatenate(pair) for pair in zip(a, b, strict=True)))


class StreamWriter:
    """A replay stream written to disk, in time order (see module docstring)."""

    def __init__(self, directory: SpillDir, name: str, piece_rows: int = SLICE_ROWS) -> None:
        self.directory, self.name, self.piece_rows = directory, name, piece_rows
        self.rows = self.legit_rows = self.counted_rows = 0
        self._last: int | None = None
        for column, _ in COLUMNS:
            directory.file(f"{name}.{column}").unlink(missing_ok=True)

    def append(
        self, ts: np.ndarray, party: np.ndarray, legit: np.ndarray, healthy: np.ndarray
    ) -> None:
        """Append rows (int64 times, int32 parties, bool flags) continuing the time order."""
        given = (ts, party, legit, healthy)
        piece = Piece(*(np.asarray(v, t) for v, (_, t) in zip(given, COLUMNS, strict=True)))
        if len({column.size for column in piece}) != 1:
            raise ValueError("a stream's columns must have one length")
        if not piece.size:
            return
        ts = piece.ts
        if (self._last is not None and ts[0] < self._last) or (ts[1:] < ts[:-1]).any():
            raise ValueError("a stream is written in time order")
        for (column, _), values in zip(COLUMNS, piece, strict=True):
            spill.append(self.directory.file(f"{self.name}.{column}"), values)
        self._last = int(ts[-1])
        self.rows += piece.size
        self.legit_rows += int(piece.legit.sum())
        self.counted_rows += int(piece.counted.sum())

    def finish(self) -> SlicedStream:
        """The stream written, ready to read."""
        return SlicedStream(
            self.rows, self.counted_rows, directory=self.directory, name=self.name,
            stored=self.rows, legit_rows=self.legit_rows, piece_rows=self.piece_rows,
        )  # fmt: skip


@dataclass(frozen=True)
class SlicedStream:
    """The requests one policy sees, on disk, read in :class:`Piece` s (time order)."""

    size: int  # rows
    counted_total: int  # legitimate and healthy rows
    keyed: bool = False  # the policy's identifier is the party
    directory: SpillDir | None = None  # held: the files live as long as the stream
    name: str = ""
    stored: int = 0  # rows on disk (all of them, legitimate or not)
    legit_rows: int = 0
    only_legit: bool = False
    piece_rows: int = SLICE_ROWS  # rows per piece that every reader here asks for

    @property
    def budget(self) -> int:
        """Counted rejections the 0.1 % rule allows (``sizing.Stream.budget``)."""
        return int(math.floor(REJECT_SHARE * self.counted_total))

    def with_keys(self) -> SlicedStream:
        """The same rows, keyed by party."""
        return replace(self, keyed=True)

    def legit_only(self) -> SlicedStream:
        """The legitimate rows only."""
        return replace(self, size=self.legit_rows, only_legit=True)

    def pieces(self, rows: int | None = None) -> Iterator[Piece]:
        """Consecutive pieces of about ``rows`` rows (``piece_rows`` by default), each ending
        with a whole millisecond (a millisecond holding more stays whole)."""
        for piece in self._whole_milliseconds(max(int(rows or self.piece_rows), 1)):
            if self.only_legit:
                piece = piece.take(piece.legit)
            if piece.size:
                yield piece

    def _whole_milliseconds(self, rows: int) -> Iterator[Piece]:
        """Pieces of ``rows`` (``shares.cuts``) of blocks read from disk at least
        ``READ_ROWS`` at a time (few reads however small the pieces)."""
        for block in self._blocks(max(rows, READ_ROWS)):
            for a, b in cuts(block.ts, rows):
                yield block.take(slice(a, b))

    def _blocks(self, rows: int) -> Iterator[Piece]:
        """Blocks of ``rows`` read from disk; a block's last millisecond waits for the next."""
        held: Piece | None = None
        for start in range(0, self.stored, rows):
            piece = _joined(held, self._read(start, rows))
            last = start + rows >= self.stored
            cut = piece.size if last else int(np.searchsorted(piece.ts, piece.ts[-1], side="left"))
            if cut:
                yield piece.take(slice(0, cut))
            held = piece.take(slice(cut, None))
        if held is not None and held.size:
            yield held

    def _read(self, start: int, count: int) -> Piece:
        assert self.directory is not None, "a stream without files"
        return Piece(
            *(
                spill.read(self.directory.file(f"{self.name}.{c}"), t, start, count)
                for c, t in COLUMNS
            )
        )


def _replays(
    stream: SlicedStream, spec: SpikeArrestSpec | QuotaSpec, budget: int | None
) -> Iterator[tuple[Piece, np.ndarray, bool]]:
    """(piece, its rejections, stopped so far) of ``spec`` replayed piece by piece."""
    replayer = Replayer(spec, stream.keyed, budget)
    for piece in stream.pieces():
        rejected = replayer.feed(piece.ts, piece.party if stream.keyed else None, piece.counted)
        yield piece, rejected, replayer.stopped


def within(stream: SlicedStream, spec: SpikeArrestSpec | QuotaSpec) -> bool:
    """True when ``spec`` rejects at most 0.1 % of the healthy legitimate requests
    (``sizing.within``); stops reading once the budget is spent."""
    return not any(stopped for _, _, stopped in _replays(stream, spec, stream.budget))


def rejections(stream: SlicedStream, spec: SpikeArrestSpec | QuotaSpec, parties: int) -> Rejections:
    """What replaying ``spec`` rejects, counted piece by piece (``parties``: how many)."""
    fold = RejectionFold(parties)
    for piece, rejected, _ in _replays(stream, spec, None):
        fold.add(piece, rejected)
    return fold.result(stream.size, stream.counted_total)


class RejectionFold:
    """A replay's :class:`~copilot.throttling.sizing.Rejections` summed piece by piece
    (``sizing.impact``'s counts, exactly, for pieces in time order)."""

    def __init__(self, parties: int) -> None:
        self.per_party, self.bad = np.zeros(parties, np.int64), np.zeros(parties, bool)
        self.hours, self.minutes = Tallies(), Tallies()
        self.n = {"rejected": 0, "counted_rejected": 0, "excluded_rejected": 0,
                  "abusive_rejected": 0}  # fmt: skip
        self.first: int | None = None
        self.last: int | None = None

    def add(self, piece: Piece, rejected: np.ndarray) -> None:
        """The next piece of the stream and which of its rows the replay rejected."""
        hit = piece.take(rejected)
        if not hit.size:
            return
        self.per_party += np.bincount(hit.party, minlength=self.per_party.size)
        self.bad[hit.party[~hit.legit]] = True
        self.hours.add(hit.ts // HOUR_MS)
        self.minutes.add(hit.ts // MINUTE_MS)
        self.first = int(hit.ts[0]) if self.first is None else self.first
        self.last = int(hit.ts[-1])
        self.n["rejected"] += hit.size
        self.n["counted_rejected"] += int(hit.counted.sum())
        self.n["excluded_rejected"] += int((hit.legit & ~hit.healthy).sum())
        self.n["abusive_rejected"] += int((~hit.legit).sum())

    def result(self, seen: int, counted: int) -> Rejections:
        """The counts, for a stream of ``seen`` rows of which ``counted`` healthy and legitimate."""
        who = np.flatnonzero(self.per_party)
        return Rejections(
            seen=seen, counted=counted, **self.n,
            parties=who, per_party=self.per_party[who], bad=set(np.flatnonzero(self.bad).tolist()),
            hours=self.hours.result(), minutes=self.minutes.result(),
            first=self.first, last=self.last,
        )  # fmt: skip
