"""Rate statistics of a replay stream on disk, folded piece by piece.

Exact equivalents of ``copilot.throttling.context.rate_stats``/``daily_peaks``
and ``copilot.throttling.sizing.counted_tally``/``peak_of`` over a
:class:`copilot.throttling.sliced.SlicedStream`: a tally carries its last key
across a piece's edge, a sliding window its tail; per-second counts are kept
as their spread (how many seconds held 1, 2, ... requests), not one per second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from copilot.throttling.context import busiest_per_day, quantiles
from copilot.throttling.tally import tally
from copilot.timeunits import DAY_MS, MINUTE_MS, SECOND_MS

if TYPE_CHECKING:
    from copilot.throttling.sliced import SlicedStream


class Tallies:
    """``tally`` of a long ascending sequence fed in consecutive parts."""

    def __init__(self) -> None:
        self._keys: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []

    def add(self, values: np.ndarray) -> None:
        keys, counts = tally(values)
        if not keys.size:
            return
        if self._keys and self._keys[-1][-1] == keys[0]:  # a key spanning the edge
            self._counts[-1][-1] += counts[0]
            keys, counts = keys[1:], counts[1:]
        if keys.size:
            self._keys.append(keys)
            self._counts.append(counts)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """What ``tally`` of everything fed gives."""
        if not self._keys:
            return tally(np.zeros(0, np.int64))
        return np.concatenate(self._keys), np.concatenate(self._counts)


class CountSpread:
    """How many distinct values of a long ascending sequence, fed in consecutive parts,
    occur once, twice, ...: the quantiles of ``tally``'s counts without keeping one count
    per value (per-second counts: one per second with traffic)."""

    def __init__(self) -> None:
        self._freq = np.zeros(1, np.int64)  # [c]: values occurring c times
        self._last: tuple[int, int] | None = None  # the last value and its count so far

    def add(self, values: np.ndarray) -> None:
        keys, counts = tally(values)
        if not keys.size:
            return
        if self._last is not None:
            if keys[0] == self._last[0]:  # a value spanning the edge
                counts[0] += self._last[1]
            else:
                self._bump(np.array([self._last[1]]))
        self._bump(counts[:-1])
        self._last = (int(keys[-1]), int(counts[-1]))

    def _bump(self, counts: np.ndarray) -> None:
        found = np.bincount(counts)
        if found.size > self._freq.size:
            self._freq = np.r_[self._freq, np.zeros(found.size - self._freq.size, np.int64)]
        self._freq[: found.size] += found

    def counts(self) -> np.ndarray:
        """Every count, ascending (the sorted ``tally`` counts: same quantiles, in the
        smallest integer type that holds them)."""
        freq = self._freq.copy()
        if self._last is not None:
            freq = np.r_[freq, np.zeros(max(0, self._last[1] + 1 - freq.size), np.int64)]
            freq[self._last[1]] += 1
        values = np.flatnonzero(freq)
        top = int(values[-1]) if values.size else 0
        return np.repeat(values.astype(np.min_scalar_type(top)), freq[values])


def counted_tally(stream: SlicedStream, unit_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Healthy legitimate requests per ``ts // unit_ms`` (``sizing.counted_tally``)."""
    out = Tallies()
    for piece in stream.pieces():
        out.add(piece.ts[piece.counted] // unit_ms)
    return out.result()


def rate_stats(stream: SlicedStream, parties: list[tuple[str, str]]) -> dict:
    """``context.rate_stats`` of the same rows (``parties``: the party labels)."""
    minutes, seconds, days = Tallies(), CountSpread(), Tallies()
    seen = np.zeros(len(parties), bool)
    for piece in stream.pieces():
        ts = piece.ts[piece.counted]
        minutes.add(ts // MINUTE_MS)
        seconds.add(ts // SECOND_MS)
        days.add(ts // DAY_MS)
        seen[piece.party[piece.counted]] = True
    minute, per_minute = minutes.result()
    if not minute.size:
        return {"requests": 0, "days_seen": 0, "apps_seen": 0}
    peak = int(np.argmax(per_minute))
    return {
        "requests": int(per_minute.sum()),
        "per_minute": quantiles(per_minute),
        "per_second": quantiles(seconds.counts()),
        "peak_rpm": int(per_minute[peak]),
        "peak_at": pd.Timestamp(int(minute[peak]) * MINUTE_MS, unit="ms", tz="UTC").isoformat(),
        "days_seen": int(days.result()[0].size),
        "apps_seen": len({parties[p][0] for p in np.flatnonzero(seen).tolist()}),
    }


def daily_peaks(stream: SlicedStream) -> np.ndarray:
    """Each day's busiest minute of healthy legitimate requests (``context.daily_peaks``)."""
    return busiest_per_day(*counted_tally(stream, MINUTE_MS))


def peak_of(stream: SlicedStream, window_ms: int, which: str) -> int:
    """The most ``which`` ("legit" or "counted") requests in any ``window_ms``
    (``sizing.peak_of``): each piece sees the earlier requests still inside its first
    request's window (the tail carried: at most one window's requests)."""
    if which not in ("legit", "counted"):
        raise ValueError(f"which must be 'legit' or 'counted', not {which!r}")
    best, tail = 0, np.zeros(0, np.int64)
    for piece in stream.pieces():
        ts = piece.ts[piece.legit if which == "legit" else piece.counted]
        if not ts.size:
            continue
        context = np.concatenate([tail, ts])
        lo = np.searchsorted(context, ts - window_ms, side="right")
        best = max(best, int((np.arange(tail.size, context.size) - lo + 1).max()))
        tail = context[context > ts[-1] - window_ms]
    return best
