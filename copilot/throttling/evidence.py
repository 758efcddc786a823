"""What every sizing step shares, measured once, one proxy's requests in memory at a time.

The requests come from a source (``copilot.throttling.spilled``: on disk, or in
memory) that loads one proxy's share. :func:`gather` reads each share twice:
1. demand (retries collapsed), retry storms, the capacity knee, and the hours
   each policy refused each client;
2. then, knowing the estate's abusive clients and healthy time: their active
   spans, the proxy's forecast, and the top apps' legitimate minutes;
and keeps only what is small (counts, windows, forecasts, each proxy's legitimate
minutes and refusals per party and policy). A share larger than
``shares.SHARE_ROWS`` is never loaded whole: both reads fold its time slices
(``copilot.throttling.evidence_slices``) into the identical evidence, and the
first writes its collapsed retries beside it (derived column ``retry``).
:meth:`Evidence.context` loads a (small) proxy's share a third time for its
suggestions. Each proxy's results are what one pass over the whole estate gives
(docs/fanout.md, 'Memory').
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from copilot.analysis import Analysis
from copilot.logs.schema import NOT_SET
from copilot.throttling import shares
from copilot.throttling.abuse import Abusive, abusive_parties, find_abusive
from copilot.throttling.admits import HourlyAdmits
from copilot.throttling.bundle import CurrentPolicy, Estate
from copilot.throttling.collect import Collector
from copilot.throttling.context import Context, Traffic
from copilot.throttling.demand import Demand, measure
from copilot.throttling.evidence_slices import FirstRead, first_read, refusal_counts, second_read
from copilot.throttling.forecast import Forecast, forecast, hourly_peaks
from copilot.throttling.health import ExcludedWindow, Health, abusive_spans, assess
from copilot.throttling.knee import Knee, find_knee, find_knee_slices
from copilot.throttling.requests import Requests
from copilot.throttling.retries import RetryStorm, find_retry_storms, storm_keys
from copilot.throttling.spilled import Source
from copilot.timeunits import MINUTE_MS

TOP_APPS = 5  # apps forecast on their own (the busiest legitimate ones)
Step = Callable[[str], None]  # told what comes next; may raise to stop (a cancelled page)


def no_step(_stage: str) -> None:
    """A ``Step`` that lets every stage run."""
    return None


@dataclass
class Evidence:
    """The estate's evidence (see module docstring); :meth:`context` gives a proxy's."""

    source: Source
    active: list[int]  # proxies with requests, by id
    demand: pd.DataFrame  # per proxy x app x client id (``Demand.table``)
    health: Health
    abusive: list[Abusive]
    bad_party: np.ndarray
    storms: list[RetryStorm]
    knees: dict[str, Knee]
    forecasts: dict[tuple[str, str], Forecast]
    admits: HourlyAdmits
    current: list[CurrentPolicy]
    headroom: float
    estate: Estate | None
    # Per proxy: legitimate demand per minute (retries collapsed, not abusive; the
    # forecast's and the charts' series), and (party, policy id) -> gateway refusals
    minutes: dict[int, np.ndarray] = field(default_factory=dict)
    refusals: dict[int, dict[tuple[int, int], int]] = field(default_factory=dict)

    def traffic(self, req: Requests) -> Traffic:
        """A proxy's share with the estate's demand table, health and abusive clients."""
        return Traffic(
            req, _demand(req, self.demand), self.health, self.abusive, self.bad_party,
            self.storms, span=self.source.span, admits=self.admits,
        )  # fmt: skip

    def context(self, proxy: int) -> Context:
        """Everything the suggestions for ``proxy`` read (loads its share; without target
        times, statuses and attributes unless current limits' conditions read them)."""
        t = self.traffic(self.source.load(proxy, lean=not self.current))
        return Context(
            t.req, t.demand, t.health, t.abusive, t.bad_party, t.storms,
            knees=self.knees, forecasts=self.forecasts, current=self.current,
            headroom=self.headroom, estate=self.estate, span=t.span, admits=t.admits,
        )  # fmt: skip


def _demand(req: Requests, table: pd.DataFrame) -> Demand:
    own = measure(req)
    return Demand(own.refused, own.retry, table)


def gather(
    analysis: Analysis,
    source: Source,
    headroom: float,
    current: list[CurrentPolicy],
    estate: Estate | None,
    step: Step = no_step,
) -> Evidence:
    """The evidence of every proxy (see module docstring); ``step`` is told each stage."""
    step("measuring demand, retries and abuse")
    active = [p for p in range(len(source.proxies)) if source.counts[p]]
    waits = {b.name: b.retry_after_s for b in estate.bundles if b.retry_after_s} if estate else {}
    tables, storms, knees = [], [], {}
    admits = HourlyAdmits(len(source.policies))
    fresh = np.zeros(len(source.parties), np.int64)  # requests per party, retries collapsed
    refusals = {}
    for p in active:
        whole = None if sliced(source, p) else source.load(p)
        if whole is None:
            got = first_read(source, p, waits, admits, shares.SLICE_ROWS)
        else:
            got = _first_read(whole, waits)
            admits.add_hits(whole)
        tables.append(got.table)
        storms += got.storms
        fresh += got.fresh[: fresh.size]
        refusals[p] = got.refusals
        step(f"finding the knee of {source.proxies[p]}")
        knees[source.proxies[p]] = find_knee(whole, p) if whole is not None else _knee(source, p)
    storms.sort(key=lambda s: (-s.attempts, s.proxy, s.app))  # as find_retry_storms orders
    abusive = find_abusive(analysis, storm_keys(storms))  # retriers are not abusive
    ev = Evidence(
        source, active,
        pd.concat(tables, ignore_index=True) if tables else measure(_no_requests()).table,
        assess(analysis, source.proxies, source.span, abusive), abusive,
        abusive_parties(abusive, source.parties), storms, knees, {}, admits, current, headroom,
        estate, refusals=refusals,
    )  # fmt: skip
    admits.seal_hits()
    _second_read(ev, _top_apps(source.parties, fresh, ev.bad_party), step)
    return ev


def sliced(source: Source, proxy: int) -> bool:
    """Whether ``proxy``'s share is read in time slices (too large to hold whole)."""
    return bool(source.counts[proxy] > shares.SHARE_ROWS)


def _knee(source: Source, proxy: int) -> Knee:
    """The knee of a share read in slices (two passes of full slices: target times)."""
    rows = shares.SLICE_ROWS
    return find_knee_slices(
        lambda: (s.req for s in source.slices(proxy, rows)), source.proxies[proxy]
    )


def _first_read(req: Requests, waits: dict[str, float]) -> FirstRead:
    """A whole share's first read (what ``evidence_slices.first_read`` folds)."""
    demand = measure(req)
    return FirstRead(
        demand.table, find_retry_storms(req, demand, retry_after_s=waits),
        np.bincount(req.party[~demand.retry], minlength=len(req.parties)),
        refusal_counts(req, demand.refused),
    )  # fmt: skip


def _no_requests() -> Requests:
    return Collector(()).finish()


def _top_apps(parties: list[tuple[str, str]], fresh: np.ndarray, bad: np.ndarray) -> list[str]:
    """The ``TOP_APPS`` busiest named apps by legitimate requests, retries collapsed."""
    names = sorted({app for app, _ in parties})
    app_of_party = np.array([names.index(app) for app, _ in parties], dtype=np.int64)
    volume = np.bincount(app_of_party, weights=np.where(bad, 0, fresh), minlength=len(names))
    ranked = [names[i] for i in np.argsort(-volume, kind="stable") if names[i] != NOT_SET]
    return ranked[:TOP_APPS]


def _second_read(ev: Evidence, apps: list[str], step: Step) -> None:
    """Per proxy: abusive spans, its minutes and forecast, the top apps' minutes; then the
    apps' forecasts."""
    width = ev.health.healthy.shape[1]
    minutes = {app: np.zeros(width, np.int64) for app in apps}
    seen_on = {app: set() for app in apps}
    app_of = np.array([apps.index(a) if a in apps else -1 for a, _ in ev.source.parties] or [-1])
    for p in ev.active:
        if sliced(ev.source, p):
            spans, ev.minutes[p], per_app = second_read(
                ev.source, p, (ev.abusive, ev.bad_party, ev.admits),
                (ev.health.first_minute, width, app_of, len(apps)), shares.SLICE_ROWS,
            )  # fmt: skip
        else:
            spans, ev.minutes[p], per_app = _whole_second_read(ev, p, app_of, len(apps))
        ev.health.excluded += spans
        name = ev.source.proxies[p]
        step(f"forecasting {name}")
        ev.forecasts[("proxy", name)] = _proxy_forecast(ev.minutes[p], ev.health, p, name)
        for app, counts in zip(apps, per_app, strict=True):
            if counts is not None:
                minutes[app] += counts
                seen_on[app].add(p)
    ev.health.sort()
    for app in apps:
        step(f"forecasting app {app}")
        healthy = ev.health.healthy[sorted(seen_on[app])].all(axis=0)
        series = hourly_peaks(minutes[app], healthy, ev.health.first_minute)
        ev.forecasts[("app", app)] = forecast(series, app, "app")


def _whole_second_read(
    ev: Evidence, p: int, app_of: np.ndarray, apps: int
) -> tuple[list[ExcludedWindow], np.ndarray, list[np.ndarray | None]]:
    """A whole share's second read (what ``evidence_slices.second_read`` folds)."""
    t = ev.traffic(ev.source.load(p, lean=True))
    spans = abusive_spans(t.req, ev.abusive)
    ev.admits.add_admitted(t.req, t.demand.refused)
    stream = t.proxy_stream(p)
    legit = stream.rows[stream.legit]  # retries collapsed, not abusive
    app_ids = app_of[t.req.party[legit]]
    per_app = []
    for i in range(apps):
        rows = legit[app_ids == i]
        per_app.append(_minute_counts(t, rows) if rows.size else None)
    return spans, _minute_counts(t, legit), per_app


def legit_minutes(traffic: Traffic, proxy: int) -> pd.Series:
    """A proxy's legitimate demand per minute over the data's span (the charts' series)."""
    width, first = traffic.health.healthy.shape[1], traffic.health.first_minute
    index = pd.to_datetime((first + np.arange(width)) * MINUTE_MS, unit="ms", utc=True)
    stream = traffic.proxy_stream(proxy)
    return pd.Series(_minute_counts(traffic, stream.rows[stream.legit]), index=index)


def _minute_counts(traffic: Traffic, rows: np.ndarray) -> np.ndarray:
    width = traffic.health.healthy.shape[1]
    col = traffic.req.ts[rows] // MINUTE_MS - traffic.health.first_minute
    return np.bincount(col, minlength=width)[:width]


def proxy_forecast(traffic: Traffic, proxy: int) -> Forecast:
    """A proxy's forecast of its legitimate healthy peaks."""
    stream = traffic.proxy_stream(proxy)
    counts = _minute_counts(traffic, stream.rows[stream.legit])
    return _proxy_forecast(counts, traffic.health, proxy, traffic.req.proxies[proxy])


def _proxy_forecast(minutes: np.ndarray, health: Health, proxy: int, name: str) -> Forecast:
    series = hourly_peaks(minutes, health.healthy[proxy], health.first_minute)
    return forecast(series, name, "proxy")
