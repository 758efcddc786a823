"""What every sizing step shares, measured once, one proxy's requests in memory at a time.

The requests come from a source (``copilot.throttling.spilled``: on disk, or in
memory) that loads one proxy's share. :func:`gather` reads each share twice:
1. demand (retries collapsed), retry storms, the capacity knee, and the hours
   each policy refused each client;
2. then, knowing the estate's abusive clients and healthy time: their active
   spans, the proxy's forecast, and the top apps' legitimate minutes;
and keeps only what is small (counts, windows, forecasts). :meth:`Evidence.context`
loads a proxy's share a third time for its suggestions. Each proxy's results
are what one pass over the whole estate gives (docs/fanout.md, 'Memory').
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from copilot.analysis import Analysis
from copilot.logs.schema import NOT_SET
from copilot.throttling.abuse import Abusive, abusive_parties, find_abusive
from copilot.throttling.admits import HourlyAdmits
from copilot.throttling.bundle import CurrentPolicy, Estate
from copilot.throttling.collect import Collector
from copilot.throttling.context import Context, Traffic
from copilot.throttling.demand import Demand, measure
from copilot.throttling.forecast import Forecast, forecast, hourly_peaks
from copilot.throttling.health import Health, abusive_spans, assess
from copilot.throttling.knee import Knee, find_knee
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
    for p in active:
        req = source.load(p)
        demand = measure(req)
        tables.append(demand.table)
        storms += find_retry_storms(req, demand, retry_after_s=waits)
        admits.add_hits(req)
        fresh += np.bincount(req.party[~demand.retry], minlength=fresh.size)
        step(f"finding the knee of {source.proxies[p]}")
        knees[source.proxies[p]] = find_knee(req, p)
    storms.sort(key=lambda s: (-s.attempts, s.proxy, s.app))  # as find_retry_storms orders
    abusive = find_abusive(analysis, storm_keys(storms))  # retriers are not abusive
    ev = Evidence(
        source, active,
        pd.concat(tables, ignore_index=True) if tables else measure(_no_requests()).table,
        assess(analysis, source.proxies, source.span, abusive), abusive,
        abusive_parties(abusive, source.parties), storms, knees, {}, admits, current, headroom,
        estate,
    )  # fmt: skip
    admits.seal_hits()
    _second_read(ev, _top_apps(source.parties, fresh, ev.bad_party), step)
    return ev


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
    """Per proxy: abusive spans, its forecast, the top apps' minutes; then the apps'."""
    width = ev.health.healthy.shape[1]
    minutes = {app: np.zeros(width, np.int64) for app in apps}
    seen_on = {app: set() for app in apps}
    app_of = np.array([apps.index(a) if a in apps else -1 for a, _ in ev.source.parties] or [-1])
    for p in ev.active:
        t = ev.traffic(ev.source.load(p, lean=True))
        ev.health.excluded += abusive_spans(t.req, ev.abusive)
        ev.admits.add_admitted(t.req, t.demand.refused)
        name = ev.source.proxies[p]
        step(f"forecasting {name}")
        ev.forecasts[("proxy", name)] = proxy_forecast(t, p)
        legit = np.flatnonzero(~t.demand.retry & ~t.bad_party[t.req.party])
        app_ids = app_of[t.req.party[legit]]
        for i, app in enumerate(apps):
            rows = legit[app_ids == i]
            minutes[app] += _minute_counts(t, rows)
            if rows.size:
                seen_on[app].add(p)
    ev.health.sort()
    for app in apps:
        step(f"forecasting app {app}")
        healthy = ev.health.healthy[sorted(seen_on[app])].all(axis=0)
        series = hourly_peaks(minutes[app], healthy, ev.health.first_minute)
        ev.forecasts[("app", app)] = forecast(series, app, "app")


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
    series = hourly_peaks(counts, traffic.health.healthy[proxy], traffic.health.first_minute)
    return forecast(series, traffic.req.proxies[proxy], "proxy")
