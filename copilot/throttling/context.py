"""Everything the sizing steps share, and the statistics each suggestion cites."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from copilot.throttling.abuse import Abusive
from copilot.throttling.admits import HourlyAdmits
from copilot.throttling.bundle import CurrentPolicy, Estate
from copilot.throttling.collect import Requests
from copilot.throttling.demand import Demand
from copilot.throttling.forecast import Forecast
from copilot.throttling.health import Health
from copilot.throttling.knee import Knee
from copilot.throttling.retries import RetryStorm
from copilot.throttling.sizing import Stream
from copilot.throttling.tally import distinct, tally
from copilot.timeunits import DAY_MS, MINUTE_MS, SECOND_MS


@dataclass
class Traffic:
    """The requests and what is measured about them: retries, abusive clients, health."""

    req: Requests
    demand: Demand
    health: Health
    abusive: list[Abusive]
    bad_party: np.ndarray  # bool per party: abusive
    storms: list[RetryStorm]  # retries without backoff (their clients are not abusive)
    # First and last epoch ms of the whole estate (``req`` may be one proxy's share of it)
    span: tuple[int, int] | None = field(default=None, kw_only=True)
    admits: HourlyAdmits | None = field(default=None, kw_only=True, repr=False)

    @property
    def first_ms(self) -> int | None:
        """The estate's first request (epoch ms), None without requests."""
        if self.span is not None:
            return self.span[0]
        return int(self.req.ts[0]) if self.req.size else None

    @property
    def days(self) -> int:
        """Whole UTC days the data spans."""
        span = self.span
        if span is None and self.req.size:
            span = (int(self.req.ts[0]), int(self.req.ts[-1]))
        return 0 if span is None else int(span[1] // DAY_MS - span[0] // DAY_MS + 1)

    def stream(self, rows: np.ndarray, keys: bool = False) -> Stream:
        """The demand among ``rows`` (collapsed retries dropped), as a replay stream."""
        rows = rows[~self.demand.retry[rows]]
        legit = ~self.bad_party[self.req.party[rows]]
        healthy = self.health.rows(self.req, rows)
        return Stream(rows, legit, healthy, self.req.party[rows] if keys else None)

    def proxy_stream(self, proxy: int, keys: bool = False) -> Stream:
        return self.stream(self.req.rows_of_proxy(proxy), keys)

    def pair_stream(self, proxy: int, party: int) -> Stream:
        return self.stream(self.req.rows_of_pair(proxy, party))

    def parties_on(self, proxy: int) -> list[int]:
        """The parties with requests on ``proxy``, by id."""
        return [party for pid, party in self.req.pairs() if pid == proxy]

    def refused_by(self, proxy: int, party: int | None = None) -> dict[int, int]:
        """Policy id -> gateway refusals on ``proxy`` (of ``party`` only, when given)."""
        if party is None:
            rows = self.req.rows_of_proxy(proxy)
        else:
            rows = self.req.rows_of_pair(proxy, party)
        ids, counts = np.unique(self.req.policy[rows[self.demand.refused[rows]]], return_counts=True)
        return dict(zip(ids.tolist(), counts.tolist(), strict=True))

    def faulted_by(self, proxy: int) -> dict[int, int]:
        """Policy id -> requests on ``proxy`` that logged that policy's fault."""
        ids, counts = np.unique(self.req.policy[self.req.rows_of_proxy(proxy)], return_counts=True)
        return dict(zip(ids.tolist(), counts.tolist(), strict=True))

    def active_proxies(self) -> list[int]:
        """Proxies with at least one request, by id."""
        return [p for p in range(len(self.req.proxies)) if self.req.rows_of_proxy(p).size]


class Placement(NamedTuple):
    """Where a bundle policy runs on one proxy (copilot.throttling.replay_current.runs_on)."""

    rows: np.ndarray  # rows where its conditions hold
    unsure: np.ndarray  # rows where they cannot be evaluated
    missing: list[str]  # the variables the logs lack for that


@dataclass
class Context(Traffic):
    """The traffic, the sizing evidence (knees, forecasts), the current limits, the user's
    choice of headroom: one proxy's, from ``copilot.throttling.evidence.Evidence.context``."""

    knees: dict[str, Knee]
    forecasts: dict[tuple[str, str], Forecast]  # (kind, target) -> forecast
    current: list[CurrentPolicy]
    headroom: float
    estate: Estate | None = None  # the bundles read (--bundle), with what they hold
    # (policy's bundle, policy, proxy id) -> where it runs: evaluated once, shared by every app
    placements: dict[tuple[str, str, int], Placement] = field(default_factory=dict, repr=False)


def rate_stats(req: Requests, stream: Stream) -> dict:
    """Per-minute and per-second rates of a stream's healthy legitimate requests.

    Quantiles are over minutes (seconds) with traffic, like the analysis's.
    """
    if not isinstance(stream, Stream):  # on disk, read in slices (copilot.throttling.sliced)
        from copilot.throttling import sliced_stats

        return sliced_stats.rate_stats(stream, req.parties)
    rows = stream.rows[stream.counted]
    ts = req.ts[rows]
    if ts.size == 0:
        return {"requests": 0, "days_seen": 0, "apps_seen": 0}
    minute, per_minute = tally(ts // MINUTE_MS)  # ts in time order: no sort
    _, per_second = tally(ts // SECOND_MS)
    peak = int(np.argmax(per_minute))
    apps = {req.parties[p][0] for p in np.unique(req.party[rows]).tolist()}
    return {
        "requests": int(ts.size),
        "per_minute": quantiles(per_minute),
        "per_second": quantiles(per_second),
        "peak_rpm": int(per_minute[peak]),
        "peak_at": pd.Timestamp(int(minute[peak]) * MINUTE_MS, unit="ms", tz="UTC").isoformat(),
        "days_seen": int(distinct(ts // DAY_MS).size),
        "apps_seen": len(apps),
    }


def quantiles(counts: np.ndarray) -> dict:
    q = np.quantile(counts, [0.5, 0.9, 0.99])
    return {
        "p50": round(float(q[0]), 2),
        "p90": round(float(q[1]), 2),
        "p99": round(float(q[2]), 2),
        "max": int(counts.max()),
    }


def daily_peaks(req: Requests, stream: Stream) -> np.ndarray:
    """Each day's busiest minute (healthy legitimate requests)."""
    if not isinstance(stream, Stream):
        from copilot.throttling import sliced_stats

        return sliced_stats.daily_peaks(stream)
    return busiest_per_day(*tally(req.ts[stream.rows[stream.counted]] // MINUTE_MS))


def busiest_per_day(minute: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each day's busiest minute, from requests per (ascending) unix minute."""
    if minute.size == 0:
        return np.zeros(0)
    day = minute * MINUTE_MS // DAY_MS
    order = np.lexsort((counts, day))
    day, counts = day[order], counts[order]
    last = np.r_[day[1:] != day[:-1], True]
    return counts[last].astype(float)


def excluded_for(ctx: Context, proxy: str, app: str | None = None) -> list[dict]:
    """Short references to the excluded windows that touch a target."""
    out = []
    for w in ctx.health.excluded:
        if w.proxy != proxy or (w.kind == "abusive_client" and app and w.app != app):
            continue
        out.append(
            {
                "kind": w.kind,
                "start": w.start.isoformat(),
                "end": w.end.isoformat(),
                "reason": w.reason,
            }
        )
    return out
