"""The evidence of a share too large to hold, folded over its time slices.

``copilot.throttling.evidence`` reads a proxy's share whole when it holds at most
``shares.SHARE_ROWS`` requests; a larger share is read here in time slices
(``copilot.throttling.shares``) and gives the identical evidence. What crosses a
slice's edge is small and carried exactly:
- each party's latest request (time, refused, verb, path): a retry is judged
  against the party's previous request (``demand.measure``,
  ``retries.find_retry_storms``), wherever it fell;
- per party, the count of its last minute so far: a minute split by an edge is
  merged before its busiest-minute peak is taken;
- sums (per party, per (party, policy), per minute), gap histograms for the
  exact median of a storm's quick retries, and each abusive client's minutes.
The first read writes each request's collapsed retry as the derived column
``retry`` for the second read and the suggestions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from copilot.analysis.outcomes import GATEWAY
from copilot.analysis.rates import group_starts
from copilot.logs.schema import NOT_SET
from copilot.throttling.abuse import Abusive
from copilot.throttling.admits import HourlyAdmits
from copilot.throttling.demand import RETRY_MS, table_of
from copilot.throttling.health import ExcludedWindow, active_spans
from copilot.throttling.requests import Requests
from copilot.throttling.retries import PairTally, RetryStorm, judge_storm, retry_window
from copilot.throttling.spilled import Source
from copilot.timeunits import MINUTE_MS

RETRY = "retry"  # the derived column: a quick retry of a refused request (collapsed)
_SAME = ("verb", "path")  # a storm's retry repeats the refused request's verb and path
_SHIFT = 32  # party << 32 | value keys (minutes and gaps stay below 2**32)


@dataclass
class FirstRead:
    """One share's first read: its demand table rows, storms, fresh requests and refusals."""

    table: pd.DataFrame
    storms: list[RetryStorm]
    fresh: np.ndarray  # per party: requests with retries collapsed
    refusals: dict[tuple[int, int], int]  # (party, policy id) -> refused requests


def refusal_counts(req: Requests, refused: np.ndarray) -> dict[tuple[int, int], int]:
    """(party, policy id) -> the gateway's refusals among ``req`` (``refused`` per request)."""
    width = max(len(req.policies), 1)
    keys = req.party[refused].astype(np.int64) * width + req.policy[refused]
    ids, counts = np.unique(keys, return_counts=True)
    return {(k // width, k % width): n for k, n in zip(ids.tolist(), counts.tolist(), strict=True)}


class _Counter:
    """Counts of int64 keys summed over slices, kept as sorted (keys, counts)."""

    def __init__(self) -> None:
        self.keys, self.counts = np.zeros(0, np.int64), np.zeros(0, np.int64)

    def add(self, keys: np.ndarray) -> None:
        ids, counts = np.unique(keys.astype(np.int64), return_counts=True)
        ids, inverse = np.unique(np.r_[self.keys, ids], return_inverse=True)
        self.keys = ids
        self.counts = np.bincount(inverse, np.r_[self.counts, counts], ids.size).astype(np.int64)


class _Previous:
    """Each party's latest request so far: what its next request follows."""

    def __init__(self, parties: int, attrs: list[str]) -> None:
        self.seen = np.zeros(parties, bool)
        self.ts = np.zeros(parties, np.int64)
        self.refused = np.zeros(parties, bool)
        self.attrs = {name: np.zeros(parties, np.int64) for name in attrs}

    def link(self, req: Requests, refused: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per request of the next slice: has a previous one of its party, the gap to it,
        whether that one was refused, and whether it asked the same (verb, path)."""
        order = np.argsort(req.party, kind="stable")  # stable: time order within a party
        keys = req.party[order]
        heads = np.r_[True, keys[1:] != keys[:-1]]
        prev = np.empty(req.size, np.int64)
        prev[order[1:]] = order[:-1]
        prev[order[heads]] = 0  # replaced by the carried request below
        inner = np.ones(req.size, bool)
        inner[order[heads]] = False
        first, who = order[heads], keys[heads]
        had = inner.copy()
        had[first] = self.seen[who]
        gap = req.ts - req.ts[prev]
        gap[first] = req.ts[first] - self.ts[who]
        was_refused = refused[prev]
        was_refused[first] = self.refused[who]
        same = np.ones(req.size, bool)
        for name, last in self.attrs.items():
            ids = req.attrs[name][0]
            before = ids[prev].astype(np.int64)
            before[first] = last[who]
            same &= ids == before
        tails = np.r_[keys[1:] != keys[:-1], True]
        last, who = order[tails], keys[tails]
        self.seen[who], self.ts[who], self.refused[who] = True, req.ts[last], refused[last]
        for name, values in self.attrs.items():
            values[who] = req.attrs[name][0][last]
        return had, gap, was_refused, same


class _Peaks:
    """Per party: its busiest minute, minutes split by a slice's edge merged."""

    def __init__(self, parties: int) -> None:
        self.peak = np.zeros(parties, np.int64)
        self.minute = np.full(parties, -1, np.int64)  # its latest minute so far
        self.count = np.zeros(parties, np.int64)  # and its requests so far

    def add(self, party: np.ndarray, minute: np.ndarray) -> None:
        ids, counts = np.unique(party.astype(np.int64) << _SHIFT | minute, return_counts=True)
        who, when = ids >> _SHIFT, ids & ((1 << _SHIFT) - 1)
        heads = np.r_[True, who[1:] != who[:-1]] if ids.size else np.zeros(0, bool)
        go_on = heads & (when == self.minute[who])
        counts[go_on] += self.count[who[go_on]]
        np.maximum.at(self.peak, who, counts)
        tails = np.r_[who[1:] != who[:-1], True] if ids.size else heads
        self.minute[who[tails]], self.count[who[tails]] = when[tails], counts[tails]


def first_read(
    source: Source, proxy: int, retry_after_s: dict[str, float], admits: HourlyAdmits, rows: int
) -> FirstRead:
    """Demand, retry storms, hits, fresh requests and refusals of ``proxy``'s share read in
    slices of ``rows``: what the whole share gives (``copilot.throttling.evidence``)."""
    fold = _Fold(source, proxy, retry_after_s)
    for piece in source.slices(proxy, rows):
        if piece.req.size:
            source.append_derived(proxy, RETRY, fold.add(piece.req))
            admits.add_hits(piece.req)
    return fold.finish()


class _Fold:
    """A share's first read, slice by slice (see :func:`first_read`)."""

    def __init__(self, source: Source, proxy: int, retry_after_s: dict[str, float]) -> None:
        self.source, self.proxy, self.name = source, proxy, source.proxies[proxy]
        self.parties = max(len(source.parties), 1)
        self.width = max(len(source.policies), 1)
        self.anonymous = np.array([c == NOT_SET for _, c in source.parties] or [False])
        self.window, self.why = retry_window(self.name, retry_after_s)
        # fresh: retries collapsed (the top apps' volume); quick: a storm's retries
        names = ("attempts", "refused", "retries", "refused_demand", "quick", "fresh")
        self.sums = {k: np.zeros(self.parties, np.int64) for k in names}
        self.peaks = {k: _Peaks(self.parties) for k in ("fresh", "attempts", "accepted")}
        self.refusals, self.gaps = _Counter(), _Counter()
        self.previous: _Previous | None = None

    def add(self, req: Requests) -> np.ndarray:
        """Fold one slice in; its collapsed retries."""
        if self.previous is None:
            self.previous = _Previous(self.parties, [a for a in _SAME if a in req.attrs])
        refused = (req.outcome >> 1) == GATEWAY
        had, gap, was_refused, same = self.previous.link(req, refused)
        after = had & was_refused & ~self.anonymous[req.party]
        retry = after & (gap <= RETRY_MS)
        quick = after & (gap <= self.window) & same
        every = np.ones(req.size, bool)
        for key, mask in (("attempts", every), ("refused", refused), ("retries", retry),
                          ("refused_demand", refused & ~retry), ("quick", quick),
                          ("fresh", ~retry)):  # fmt: skip
            self.sums[key] += np.bincount(req.party[mask], minlength=self.parties)
        minute = req.ts // MINUTE_MS
        for key, mask in (("fresh", ~quick), ("attempts", every), ("accepted", ~refused)):
            self.peaks[key].add(req.party[mask], minute[mask])
        self.refusals.add(req.party[refused].astype(np.int64) * self.width + req.policy[refused])
        self.gaps.add(req.party[quick].astype(np.int64) << _SHIFT | gap[quick])
        return retry

    def finish(self) -> FirstRead:
        keys, counts = self.refusals.keys.tolist(), self.refusals.counts.tolist()
        refused_by = {
            (k // self.width, k % self.width): n for k, n in zip(keys, counts, strict=True)
        }
        sums, peaks = self.sums, self.peaks
        storms = []
        for party in np.flatnonzero((sums["attempts"] > 0) & ~self.anonymous).tolist():
            tally = PairTally(
                int(sums["attempts"][party]), int(sums["refused"][party]),
                int(sums["quick"][party]), int(peaks["fresh"].peak[party]),
                int(peaks["attempts"].peak[party]), int(peaks["accepted"].peak[party]),
            )  # fmt: skip
            storm = judge_storm(
                tally, self.name, self.source.parties[party], self.window, self.why,
                lambda party=party: _median(self.gaps, party),
            )  # fmt: skip
            if storm is not None:
                storms.append(storm)
        storms.sort(key=lambda s: (-s.attempts, s.proxy, s.app))  # as find_retry_storms does
        table = _table(self.source, self.proxy, sums, refused_by)
        return FirstRead(table, storms, sums["fresh"], refused_by)


def _table(
    source: Source, proxy: int, sums: dict[str, np.ndarray], refused_by: dict[tuple[int, int], int]
) -> pd.DataFrame:
    """The share's rows of the demand table (``demand.measure``'s)."""
    parties = max(len(source.parties), 1)
    size = len(source.proxies) * parties
    counts = {}
    for key in ("attempts", "refused", "retries", "refused_demand"):
        counts[key] = np.zeros(size, np.int64)
        counts[key][proxy * parties : (proxy + 1) * parties] = sums[key]
    policies: dict[int, list[int]] = {}
    for party, policy in refused_by:  # ascending
        policies.setdefault(party, []).append(policy)
    return table_of(
        source.proxies, source.parties, counts,
        lambda key: policies.get(key % parties, []), source.policies,
    )  # fmt: skip


def _median(gaps: _Counter, party: int) -> float:
    """The median of one party's quick-retry gaps (``np.median`` of them all)."""
    a, b = np.searchsorted(gaps.keys, [party << _SHIFT, (party + 1) << _SHIFT])
    values, counts = gaps.keys[a:b] & ((1 << _SHIFT) - 1), gaps.counts[a:b]
    total, upto = int(counts.sum()), np.cumsum(counts)
    middle = np.searchsorted(upto, [(total - 1) // 2, total // 2], side="right")
    return float(np.median(values[middle]))  # odd: the middle one twice; even: their mean


def second_read(
    source: Source,
    proxy: int,
    known: tuple[list[Abusive], np.ndarray, HourlyAdmits],
    minutes: tuple[int, int, np.ndarray, int],
    rows: int,
) -> tuple[list[ExcludedWindow], np.ndarray, list[np.ndarray | None]]:
    """Abusive spans, admitted requests (into the admits) and legitimate minutes of
    ``proxy``'s share read lean in slices, with the retries the first read wrote.

    ``known``: the abusive clients, the abusive party flags, the admits; ``minutes``: the
    first minute, the width, each party's top app (-1: none), how many top apps. Returns
    the spans, the proxy's legitimate requests per minute, and each top app's (None
    where it has none here)."""
    abusive, bad_party, admits = known
    first, width, app_of, apps = minutes
    name = source.proxies[proxy]
    bad = [b for b in abusive if b.proxy == name and (b.app, b.client_id) in source.parties]
    bad_ids = [source.parties.index((b.app, b.client_id)) for b in bad]
    tallies: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in bad]
    legit_minutes = np.zeros(width, np.int64)
    per_app = [np.zeros(width, np.int64) for _ in range(apps)]
    seen = np.zeros(apps, bool)
    for piece in source.slices(proxy, rows, lean=True, derived=(RETRY,)):
        req, retry = piece.req, piece.derived[RETRY].astype(bool)
        admits.add_admitted(req, (req.outcome >> 1) == GATEWAY)
        for i, who in enumerate(bad_ids):
            mine = req.ts[req.party == who]
            if mine.size:
                tallies[i].append(_per_minute(mine // MINUTE_MS))
        legit = ~retry & ~bad_party[req.party]
        col = req.ts[legit] // MINUTE_MS - first
        legit_minutes += np.bincount(col, minlength=width)[:width]
        app_ids = app_of[req.party[legit]]
        for i in range(apps):
            mine = col[app_ids == i]
            per_app[i] += np.bincount(mine, minlength=width)[:width]
            seen[i] |= mine.size > 0
    spans = []
    for b, parts in zip(bad, tallies, strict=True):
        if parts:
            spans += active_spans(b, *_merged(parts))
    return spans, legit_minutes, [m if s else None for m, s in zip(per_app, seen, strict=True)]


def _per_minute(minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = group_starts(minutes)
    return minutes[starts], np.diff(np.r_[starts, minutes.size])


def _merged(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive slices' (minutes, counts) as one, a minute split by an edge summed."""
    minutes = np.concatenate([m for m, _ in parts])
    counts = np.concatenate([c for _, c in parts])
    starts = group_starts(minutes)
    return minutes[starts], np.add.reduceat(counts, starts)
