"""Arrivals: when requests reach the gateway, from which app, for which operation.

Each app is a *stream* with an expected rate per second of the day (diurnal
shape x weekday factor x nominal volume x scale), roughened by per-minute
jitter and short random bursts; requests are Poisson per second and spread
uniformly over the milliseconds of that second. Extra streams carry the flash
sale (orders and checkout demand only) and the scraper's crawl windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from copilot.logs import sample_scenario as sc
from copilot.logs.sample_apps import ABUSIVE_APP, APPS, App
from copilot.logs.sample_estate import BATCH_WINDOW, DIURNAL, OPERATIONS, WEEKLY
from copilot.timeunits import DAY_MS, SECOND_MS

DAY_S = DAY_MS // SECOND_MS
_OP_INDEX = {op.key: i for i, op in enumerate(OPERATIONS)}
_SECONDS = np.arange(DAY_S)
_JITTER_SIGMA = 0.12  # per-minute log-normal noise (over-dispersion beyond Poisson)
_BURST_SECONDS = (5.0, 60.0)
_INCIDENT_OPS = ("orders POST /", "orders GET /{id}", "orders GET /{id}/items", "payments POST /")


@dataclass(frozen=True)
class Stream:
    """Expected requests per second of one day for one app and operation mix."""

    app: int
    mix: np.ndarray  # probability per operation index
    rate: np.ndarray  # float64[86400]


@dataclass(frozen=True)
class Arrivals:
    """Requests of one day, sorted by arrival time."""

    ts_ms: np.ndarray  # int64 epoch ms
    app: np.ndarray  # int16 index into APPS
    op: np.ndarray  # int16 index into OPERATIONS


def _mix(pairs: tuple[tuple[str, float], ...], only: tuple[str, ...] | None = None) -> np.ndarray:
    weights = np.zeros(len(OPERATIONS))
    for key, weight in pairs:
        if only is None or key in only:
            weights[_OP_INDEX[key]] = weight
    return weights / weights.sum()


@cache
def _shape(app: App) -> np.ndarray:
    """The app's diurnal shape per second, normalised to sum 1 over the day (do not modify)."""
    if app.shape == "batch":
        shape = np.zeros(DAY_S)
        shape[BATCH_WINDOW[0] : BATCH_WINDOW[1]] = 1.0
    else:
        hourly = np.asarray(DIURNAL[app.shape])
        # values sit at hour centres; wrap around midnight
        x = np.concatenate(([-0.5], np.arange(24) + 0.5, [24.5]))
        y = np.concatenate(([hourly[-1]], hourly, [hourly[0]]))
        shape = np.interp(_SECONDS / 3600.0, x, y)
    if app.hourly_sync:
        shape = shape * np.where(_SECONDS % 3600 < 240, app.hourly_sync, 1.0)
    return shape / shape.sum()


def _weekday(day: int, start_weekday: int) -> int:
    return (start_weekday + day) % 7


def base_rate(app: App, day: int, scenario: sc.Scenario) -> np.ndarray:
    """The app's expected requests per second over one day, before noise and bursts."""
    factor = WEEKLY[app.weekly][_weekday(day, scenario.start.weekday())]
    return app.daily * scenario.scale * factor * _shape(app)


def _scraper_rate(day: int, scenario: sc.Scenario) -> np.ndarray:
    rate = np.zeros(DAY_S)
    windows = [sc.SCRAPER_NIGHTLY]
    if day == sc.scraper_run_day(scenario.days):
        windows.append(sc.SCRAPER_RUN)
    for start, end, rps in windows:
        rate[start:end] += rps * scenario.scale
    return rate


def incident_multiplier(day: int, scenario: sc.Scenario) -> np.ndarray:
    """Demand multiplier of the flash sale per second of the day (1 outside it)."""
    mult = np.ones(DAY_S)
    if day != sc.incident_day(scenario.days):
        return mult
    t0 = sc.INCIDENT_START_S
    t1, t2 = t0 + sc.INCIDENT_RAMP_S, t0 + sc.INCIDENT_RAMP_S + sc.INCIDENT_HOLD_S
    t3 = t2 + sc.INCIDENT_DECAY_S
    peak = scenario.incident.demand_multiplier
    return np.interp(_SECONDS, [t0, t1, t2, t3], [1.0, peak, peak, 1.0], left=1.0, right=1.0)


def streams(day: int, scenario: sc.Scenario) -> list[Stream]:
    """The deterministic (noise-free) streams of one day."""
    out: list[Stream] = []
    surge = incident_multiplier(day, scenario) - 1.0
    for index, app in enumerate(APPS):
        if app.name == ABUSIVE_APP:
            out.append(Stream(index, _mix(app.mix), _scraper_rate(day, scenario)))
            continue
        rate = base_rate(app, day, scenario)
        out.append(Stream(index, _mix(app.mix), rate))
        if app.name in scenario.incident.apps and surge.any():
            mix = _mix(app.mix, _INCIDENT_OPS)
            share = float(_mix(app.mix)[mix > 0].sum())
            out.append(Stream(index, mix, rate * share * surge))
    return out


def _burst_gain(app: App) -> float:
    """Expected extra requests per day from random bursts, as a share of the day's volume."""
    mean_len = sum(_BURST_SECONDS) / 2
    return app.bursts_per_day * mean_len * (sum(app.burst_mult) / 2 - 1.0) / DAY_S


def expected_rows(scenario: sc.Scenario) -> float:
    """Expected number of requests over the scenario's days (bursts included on average)."""
    total = 0.0
    for day in range(scenario.days):
        for stream in streams(day, scenario):
            total += float(stream.rate.sum()) * (1.0 + _burst_gain(APPS[stream.app]))
    return total


def _noise(app: App, rng: np.random.Generator) -> np.ndarray:
    """Per-second multiplier: per-minute log-normal jitter (mean 1) and random bursts."""
    jitter = rng.lognormal(-(_JITTER_SIGMA**2) / 2, _JITTER_SIGMA, DAY_S // 60)
    noise = np.repeat(jitter, 60)
    count = rng.poisson(app.bursts_per_day) if app.bursts_per_day else 0
    starts = rng.integers(0, DAY_S, count)
    lengths = rng.uniform(*_BURST_SECONDS, count).astype(int)
    mults = rng.uniform(*app.burst_mult, count)
    for start, length, mult in zip(starts, lengths, mults, strict=True):
        noise[start : start + length] *= mult
    return noise


def arrivals(day: int, scenario: sc.Scenario, rng: np.random.Generator) -> Arrivals:
    """Draw one day's requests: Poisson counts per second, uniform within the second."""
    noise = {i: _noise(app, rng) for i, app in enumerate(APPS)}
    seconds, apps, ops = [], [], []
    for stream in streams(day, scenario):
        counts = rng.poisson(stream.rate * noise[stream.app])
        sec = np.repeat(_SECONDS, counts)
        seconds.append(sec)
        apps.append(np.full(sec.size, stream.app, dtype=np.int16))
        ops.append(rng.choice(len(OPERATIONS), size=sec.size, p=stream.mix).astype(np.int16))
    sec = np.concatenate(seconds)
    midnight = scenario.start_ms + day * DAY_MS
    ts = midnight + sec.astype(np.int64) * SECOND_MS + rng.integers(0, SECOND_MS, sec.size)
    order = np.argsort(ts, kind="stable")
    return Arrivals(ts[order], np.concatenate(apps)[order], np.concatenate(ops)[order])
