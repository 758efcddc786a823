"""What every sizing step shares, measured once: the :class:`Context` of one run.

From the analysis and the collected requests: demand (retries collapsed),
retry storms (their clients are retrying, not abusive), abusive clients,
healthy vs excluded time, each proxy's capacity knee, and the forecasts of
each proxy and top app; then the current limits and the user's headroom.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from copilot.analysis import Analysis
from copilot.logs.schema import NOT_SET
from copilot.throttling.abuse import abusive_parties, find_abusive
from copilot.throttling.bundle import CurrentPolicy, Estate
from copilot.throttling.collect import Requests
from copilot.throttling.context import Context, Traffic
from copilot.throttling.demand import measure
from copilot.throttling.forecast import Forecast, forecast, hourly_peaks
from copilot.throttling.health import assess
from copilot.throttling.knee import find_knee
from copilot.throttling.retries import find_retry_storms, storm_keys
from copilot.timeunits import MINUTE_MS

TOP_APPS = 5  # apps forecast on their own (the busiest legitimate ones)
Step = Callable[[str], None]  # told what comes next; may raise to stop (a cancelled page)


def no_step(_stage: str) -> None:
    """A ``Step`` that lets every stage run."""
    return None


def measure_traffic(analysis: Analysis, req: Requests, estate: Estate | None) -> Traffic:
    """Demand, retry storms, abusive clients and health of the requests."""
    demand = measure(req)
    waits = {b.name: b.retry_after_s for b in estate.bundles if b.retry_after_s} if estate else {}
    storms = find_retry_storms(req, demand, retry_after_s=waits)  # retriers are not abusive
    abusive = find_abusive(analysis, storm_keys(storms))
    health = assess(analysis, req, abusive)
    return Traffic(req, demand, health, abusive, abusive_parties(abusive, req.parties), storms)


def build_context(
    analysis: Analysis,
    req: Requests,
    headroom: float,
    current: list[CurrentPolicy],
    estate: Estate | None,
    step: Step = no_step,
) -> Context:
    """The complete context: traffic, knees, forecasts, current limits, headroom.

    ``step`` is told each stage and proxy before it starts."""
    step("measuring demand, retries and abuse")
    t = measure_traffic(analysis, req, estate)
    active = t.active_proxies()
    knees = {}
    for p in active:
        step(f"finding the knee of {req.proxies[p]}")
        knees[req.proxies[p]] = find_knee(req, p)
    return Context(
        t.req, t.demand, t.health, t.abusive, t.bad_party, t.storms,
        knees=knees,
        forecasts={**proxy_forecasts(t, active, step), **app_forecasts(t, step)},
        current=current,
        headroom=headroom,
        estate=estate,
    )  # fmt: skip


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


def proxy_forecasts(
    traffic: Traffic, active: list[int], step: Step = no_step
) -> dict[tuple[str, str], Forecast]:
    """Each active proxy's forecast of its legitimate healthy peaks."""
    health, out = traffic.health, {}
    for p in active:
        name = traffic.req.proxies[p]
        step(f"forecasting {name}")
        stream = traffic.proxy_stream(p)
        counts = _minute_counts(traffic, stream.rows[stream.legit])
        series = hourly_peaks(counts, health.healthy[p], health.first_minute)
        out[("proxy", name)] = forecast(series, name, "proxy")
    return out


def app_forecasts(traffic: Traffic, step: Step = no_step) -> dict[tuple[str, str], Forecast]:
    """The forecasts of the ``TOP_APPS`` busiest named apps (legitimate, retries collapsed),
    over the minutes healthy on every proxy they call."""
    req, health = traffic.req, traffic.health
    legit = np.flatnonzero(~traffic.demand.retry & ~traffic.bad_party[req.party])
    names = sorted({app for app, _ in req.parties})
    app_of_party = np.array([names.index(app) for app, _ in req.parties] or [0])
    app_ids = app_of_party[req.party[legit]]
    volume = np.bincount(app_ids, minlength=len(names))
    ranked = [names[i] for i in np.argsort(-volume, kind="stable") if names[i] != NOT_SET]
    out = {}
    for app in ranked[:TOP_APPS]:
        step(f"forecasting app {app}")
        rows = legit[app_ids == names.index(app)]
        healthy = health.healthy[np.unique(req.proxy[rows])].all(axis=0)
        series = hourly_peaks(_minute_counts(traffic, rows), healthy, health.first_minute)
        out[("app", app)] = forecast(series, app, "app")
    return out
