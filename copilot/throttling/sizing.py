"""Replay a limit over the requests it would see; find the least rate that keeps 99.9 %.

docs/throttling.md, 'Sizing by replay': replay history through the
simulator and raise the rate until at most 0.1 % of healthy legitimate requests
would be rejected. A :class:`Stream` is what one policy sees: the demand
(retries collapsed) on its proxy, or one client's, with which requests are
legitimate (not from an abusive client) and healthy (outside excluded
windows). :func:`least_rate` searches the smallest count with rejections of
counted requests within the budget; it searches on the legitimate requests
alone (fast: abusive floods are what the limit is for) and then confirms on
the whole stream, raising the rate if the abusive traffic would crowd out
legitimate requests in a shared bucket. :func:`impact` says who would have
been rejected, and when.

A share too large to hold is a :class:`copilot.throttling.sliced.SlicedStream`
(the same rows on disk, read in pieces, replays carried across them):
:func:`least_rate`, :func:`within`, :func:`replay_impact`, :func:`peak_of` and
:func:`counted_tally` take either kind and give the same answers for the same rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from copilot.throttling import replay, replay_quota
from copilot.throttling.collect import Requests
from copilot.throttling.impact import Impact, Rejections
from copilot.throttling.options import REJECT_SHARE
from copilot.throttling.replay import ReplayCache, SpikeArrestSpec
from copilot.throttling.replay_quota import QuotaSpec
from copilot.throttling.tally import tally
from copilot.timeunits import HOUR_MS, MINUTE_MS, SECOND_MS

if TYPE_CHECKING:
    from copilot.throttling.sliced import SlicedStream

SHARE = REJECT_SHARE  # at most 0.1 % of healthy legitimate requests may be rejected
MAX_RATE = 1 << 22  # a search never looks beyond this many requests per period


@dataclass
class Stream:
    """The requests one policy sees, in time order."""

    rows: np.ndarray  # indices into Requests
    legit: np.ndarray  # bool per row: not from an abusive client
    healthy: np.ndarray  # bool per row: outside excluded windows
    keys: np.ndarray | None = None  # the policy's identifier per row (party), if any
    cache: ReplayCache = field(default_factory=ReplayCache, repr=False)  # see ReplayCache
    _ts: np.ndarray | None = field(default=None, repr=False)

    def times(self, req: Requests) -> np.ndarray:
        """The stream's timestamps (epoch ms), taken from ``req`` once."""
        if self._ts is None:
            self._ts = req.ts[self.rows]
        return self._ts

    @cached_property
    def counted(self) -> np.ndarray:
        """Healthy and legitimate: the requests the 0.1 % rule counts."""
        return self.legit & self.healthy

    @property
    def size(self) -> int:
        """Requests in the stream."""
        return int(self.rows.size)

    @property
    def counted_total(self) -> int:
        """Healthy legitimate requests in the stream."""
        return int(self.counted.sum())

    @property
    def budget(self) -> int:
        return int(math.floor(SHARE * self.counted_total))

    def subset(self, mask: np.ndarray) -> Stream:
        keys = None if self.keys is None else self.keys[mask]
        return Stream(self.rows[mask], self.legit[mask], self.healthy[mask], keys)

    def legit_only(self) -> Stream:
        """The legitimate requests alone."""
        return self.subset(self.legit)


def run(req: Requests, stream: Stream, spec, budget: int | None = None) -> replay.Outcome:
    """Replay ``spec`` (SpikeArrest or Quota) over the stream."""
    ts = stream.times(req)
    if isinstance(spec, QuotaSpec):
        return replay_quota.quota(ts, spec, stream.keys, stream.counted, budget, stream.cache)
    return replay.spike_arrest(ts, spec, stream.keys, stream.counted, budget, stream.cache)


def within(req: Requests, stream: Stream | SlicedStream, spec) -> bool:
    """True when ``spec`` rejects at most 0.1 % of the stream's healthy legitimate requests."""
    if not isinstance(stream, Stream):
        from copilot.throttling import sliced

        return sliced.within(stream, spec)
    return not run(req, stream, spec, stream.budget).stopped


def peak_of(req: Requests, stream: Stream | SlicedStream, window_ms: int, which: str) -> int:
    """The most ``which`` requests ("legit", or "counted": healthy and legitimate) in any
    ``window_ms`` of the stream (:func:`peak_window` of their times)."""
    if not isinstance(stream, Stream):
        from copilot.throttling import sliced_stats

        return sliced_stats.peak_of(stream, window_ms, which)
    return peak_window(stream.times(req)[_which(stream, which)], window_ms)


def counted_tally(
    req: Requests, stream: Stream | SlicedStream, unit_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """The healthy legitimate requests per ``ts // unit_ms``: (keys ascending, counts)."""
    if not isinstance(stream, Stream):
        from copilot.throttling import sliced_stats

        return sliced_stats.counted_tally(stream, unit_ms)
    return tally(stream.times(req)[stream.counted] // unit_ms)


def _which(stream: Stream, which: str) -> np.ndarray:
    if which == "legit":
        return stream.legit
    if which == "counted":
        return stream.counted
    raise ValueError(f"which must be 'legit' or 'counted', not {which!r}")


def peak_window(ts: np.ndarray, window_ms: int) -> int:
    """The most requests in any ``window_ms`` (a sliding count at this limit rejects none)."""
    if ts.size == 0:
        return 0
    lo = np.searchsorted(ts, ts - window_ms, side="right")
    return int((np.arange(ts.size) - lo + 1).max())


def least_rate(req: Requests, stream: Stream | SlicedStream, unit: str, effective: bool) -> int:
    """The smallest ``N`` such that ``SpikeArrest(N + unit)`` keeps the 0.1 % rule.

    One search for both kinds of stream: the same probes in the same order."""
    period = SECOND_MS if unit == "ps" else MINUTE_MS

    def spec(n: int) -> SpikeArrestSpec:
        return SpikeArrestSpec(f"{n}{unit}", effective)

    legit = stream.legit_only()
    if legit.counted_total == 0:
        return 1
    start = max(1, peak_of(req, legit, period, "legit"))
    hi = start
    while not within(req, legit, spec(hi)) and hi < MAX_RATE:
        hi *= 2
    lo = 0  # infeasible (a rate of 0 rejects everything)
    if hi == start:  # the peak window is enough; look below it
        lo = max(0, hi // 2)
        while lo > 0 and within(req, legit, spec(lo)):
            hi, lo = lo, lo // 2
    else:
        lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if within(req, legit, spec(mid)):
            hi = mid
        else:
            lo = mid
    return confirm(req, stream, hi, spec)


def confirm(
    req: Requests, stream: Stream | SlicedStream, n: int, spec: Callable[[int], SpikeArrestSpec]
) -> int:
    """Raise ``n`` until the whole stream (abusive clients included) keeps the rule."""
    for _ in range(40):
        if within(req, stream, spec(n)):
            return n
        n = max(n + 1, math.ceil(n * 1.05))
    return n


def replay_impact(
    req: Requests, stream: Stream | SlicedStream, spec: SpikeArrestSpec | QuotaSpec, top: int = 10
) -> Impact:
    """What replaying ``spec`` over the stream would have rejected (:func:`impact` of
    :func:`run`); a stream on disk is replayed piece by piece and summed as it goes."""
    if not isinstance(stream, Stream):
        from copilot.throttling import sliced

        return sliced.rejections(stream, spec, len(req.parties)).impact(req.parties, top)
    return impact(req, stream, run(req, stream, spec).rejected, top)


def impact(req: Requests, stream: Stream, rejected: np.ndarray, top: int = 10) -> Impact:
    """Summarise a replay's rejections (see :class:`Impact`)."""
    rows = stream.rows[rejected]
    ts = req.ts[rows]
    parties, counts = np.unique(req.party[rows], return_counts=True)
    abusive = ~stream.legit[rejected]
    return Rejections(
        seen=int(stream.rows.size),
        rejected=int(rejected.sum()),
        counted=int(stream.counted.sum()),
        counted_rejected=int((rejected & stream.counted).sum()),
        excluded_rejected=int((rejected & stream.legit & ~stream.healthy).sum()),
        abusive_rejected=int(abusive.sum()),
        parties=parties,
        per_party=counts,
        bad=set(np.unique(req.party[rows][abusive]).tolist()),
        hours=tally(ts // HOUR_MS),  # ts in time order: no sort
        minutes=tally(ts // MINUTE_MS),
        first=int(ts[0]) if ts.size else None,
        last=int(ts[-1]) if ts.size else None,
    ).impact(req.parties, top)
