"""The suggestions' context for a proxy whose share is too large to hold: streams on disk.

A share with more than ``shares.SHARE_ROWS`` requests is read once more, in
time slices (``copilot.throttling.shares``), with the collapsed retries the
evidence wrote beside it (the derived column ``retry``). Each slice's demand
goes to the proxy's replay stream and to each party's, on scratch disk
(``copilot.throttling.sliced``), and the counts "limit likely too tight"
needs are summed. The suggestions then read those streams in slices
(``copilot.throttling.sizing`` accepts them), so memory follows a slice and
the per-party and per-minute sums, not the share (docs/fanout.md, 'Memory').
The proxy's legitimate minutes and its refusals per party and policy come
from the evidence. Where bundles' current limits run on the proxy, the same
pass decides per request where each runs and writes their streams too
(``copilot.throttling.sliced_current``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from copilot.analysis.outcomes import GATEWAY
from copilot.analysis.rates import group_starts
from copilot.spill import SpillDir
from copilot.throttling import shares
from copilot.throttling.context import Context
from copilot.throttling.demand import Demand, judge_too_tight
from copilot.throttling.evidence import Evidence
from copilot.throttling.evidence_slices import RETRY
from copilot.throttling.requests import Requests
from copilot.throttling.sliced import SlicedStream, StreamWriter
from copilot.throttling.sliced_current import CurrentStreams, slice_context
from copilot.timeunits import MINUTE_MS


@dataclass
class SlicedContext(Context):
    """A :class:`Context` whose streams are on disk (see module docstring)."""

    proxy: int = -1
    whole: SlicedStream | None = None  # the proxy's demand stream
    streams: dict[int, SlicedStream] = field(default_factory=dict)  # party -> its stream
    refusals: dict[tuple[int, int], int] = field(default_factory=dict)  # (party, policy) -> n
    tight: tuple[np.ndarray, np.ndarray] | None = None  # per party: refused, wanted (fresh)
    minutes: np.ndarray | None = None  # legitimate demand per minute
    faults: np.ndarray | None = None  # per policy id: requests that logged its fault
    current_streams: CurrentStreams | None = None  # the bundles' limits, where they run

    def proxy_stream(self, proxy: int, keys: bool = False) -> SlicedStream:  # type: ignore[override]
        assert proxy == self.proxy and self.whole is not None
        return self.whole.with_keys() if keys else self.whole

    def pair_stream(self, proxy: int, party: int) -> SlicedStream:  # type: ignore[override]
        assert proxy == self.proxy
        return self.streams[party]

    def parties_on(self, proxy: int) -> list[int]:
        return sorted(self.streams) if proxy == self.proxy else []

    def refused_by(self, proxy: int, party: int | None = None) -> dict[int, int]:
        if proxy != self.proxy:
            return {}
        out: dict[int, int] = {}
        for (who, policy), n in sorted(self.refusals.items()):
            if party is None or who == party:
                out[policy] = out.get(policy, 0) + n
        return out

    def faulted_by(self, proxy: int) -> dict[int, int]:
        if proxy != self.proxy or self.faults is None:
            return {}
        return {int(i): int(self.faults[i]) for i in np.flatnonzero(self.faults)}

    def too_tight(self, named: set[tuple[str, str, str]]) -> list:
        """"Limit likely too tight" findings of this proxy (``demand.too_tight``'s)."""
        assert self.tight is not None
        return judge_too_tight(self.demand.table, self.req, self.proxy, *self.tight, named)

    def legit_series(self) -> pd.Series:
        """Legitimate demand per minute over the data's span (``evidence.legit_minutes``)."""
        first, width = self.health.first_minute, self.health.healthy.shape[1]
        index = pd.to_datetime((first + np.arange(width)) * MINUTE_MS, unit="ms", utc=True)
        return pd.Series(self.minutes, index=index)


def sliced_context(ev: Evidence, proxy: int, directory: SpillDir) -> SlicedContext:
    """The context of ``proxy``'s suggestions, its streams written under ``directory``."""
    source = ev.source
    labels = _labels(source)
    n_parties = max(len(source.parties), 1)
    whole = StreamWriter(directory, f"stream.{proxy}")
    per_party: dict[int, StreamWriter] = {}
    refused_n = np.zeros(n_parties, np.int64)
    wanted_n = np.zeros(n_parties, np.int64)
    faults = np.zeros(max(len(source.policies), 1), np.int64)
    current = CurrentStreams.of(ev, proxy, directory) if ev.current else None
    lean = current is None  # the current limits' conditions read attributes and statuses
    for piece in source.slices(proxy, shares.SLICE_ROWS, lean, derived=(RETRY,)):
        if current is not None:
            current.add(slice_context(ev, piece))
        req, retry = piece.req, piece.derived[RETRY].astype(bool)
        healthy = ev.health.rows(req, np.arange(req.size))
        fresh = ~retry & healthy
        refused = (req.outcome >> 1) == GATEWAY
        refused_n += np.bincount(req.party[refused & fresh], minlength=n_parties)
        wanted_n += np.bincount(req.party[fresh], minlength=n_parties)
        faults += np.bincount(req.policy, minlength=faults.size)
        keep = np.flatnonzero(~retry)
        ts, party, ok = req.ts[keep], req.party[keep], healthy[keep]
        legit = ~ev.bad_party[party]
        whole.append(ts, party, legit, ok)
        _by_party(directory, proxy, per_party, ts, party, legit, ok)
    streams = {p: w.finish() for p, w in sorted(per_party.items())}
    return SlicedContext(
        labels, Demand(np.zeros(0, bool), np.zeros(0, bool), ev.demand), ev.health,
        ev.abusive, ev.bad_party, ev.storms,
        knees=ev.knees, forecasts=ev.forecasts, current=ev.current, headroom=ev.headroom,
        estate=ev.estate, span=source.span, admits=ev.admits,
        proxy=proxy, whole=whole.finish(), streams=streams, refusals=ev.refusals[proxy],
        tight=(refused_n, wanted_n), minutes=ev.minutes[proxy], faults=faults,
        current_streams=current,
    )  # fmt: skip


def _by_party(
    directory: SpillDir,
    proxy: int,
    writers: dict[int, StreamWriter],
    ts: np.ndarray,
    party: np.ndarray,
    legit: np.ndarray,
    healthy: np.ndarray,
) -> None:
    """Append a slice's demand to each party's stream (time order kept within a party)."""
    order = np.argsort(party, kind="stable")
    keys = party[order]
    starts = group_starts(keys)
    for a, b in zip(starts, np.r_[starts[1:], keys.size], strict=True):
        who, rows = int(keys[a]), order[a:b]
        if who not in writers:
            writers[who] = StreamWriter(directory, f"stream.{proxy}.{who}")
        writers[who].append(ts[rows], party[rows], legit[rows], healthy[rows])


def _labels(source) -> Requests:
    """A share with no rows and the estate's labels: what the suggestions read labels from."""
    empty = np.zeros(0, np.int64)
    return Requests(
        empty, empty.astype(np.int16), empty.astype(np.int32), empty.astype(np.int8),
        empty.astype(np.int16), empty.astype(np.float32), source.proxies, source.parties,
        source.policies, source.fault_codes, status=None,
        status_anywhere=source.status_anywhere,
    )  # fmt: skip
