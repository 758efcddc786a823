"""Anomaly windows on the per-proxy minute series, and the clients behind them.

For each proxy and metric (``requests`` per minute, ``error_rate`` = 5xx
share, ``latency_p95``), ``scoring.flag_minutes`` flags minutes whose score
against the seasonal baseline exceeds 3.5. A window *holds* while the
score stays above ``hold`` x 3.5 (hysteresis: a real incident's minutes dip
below 3.5 now and then without ending it), and held minutes at most
``merge_gap`` minutes apart merge into one window. A window is reported only
when it holds at least ``min_minutes`` flagged minutes — so a single noisy
minute never floods the report — except a request spike scoring
``spike_score`` or more, which is reported even when it lasts one minute.

The *drivers* of a window are the consumers (app, client id) of that proxy
whose own count in the window most exceeds their own seasonal baseline (the
sum over the window's minutes of the median of the same slot): requests for a
request surge and for a latency rise (load), 5xx responses for an error rise.
Only an excess beyond Poisson noise counts (its count score above the
threshold); each driver's share is its excess over the sum of all such
excesses. A latency rise with no client above its baseline has no drivers: the
backend slowed down on its own.

Severity: ``high`` for a peak score of 10 or more, or 6 or more lasting 15
minutes; ``medium`` for 6 or more, or 15 minutes; ``low`` otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from copilot.analysis.baseline import (
    choose_seasonality,
    minute_grid,
    minute_numbers,
    seasonal_baseline,
    slots,
)
from copilot.analysis.scoring import METRICS, FlagRules, count_score, flag_minutes

UNITS = {"requests": "requests/min", "error_rate": "5xx share", "latency_p95": "ms"}
_DRIVER_COLUMN = {"requests": "requests", "error_rate": "errors_5xx", "latency_p95": "requests"}
_CANDIDATES = 25  # consumers considered per window (the busiest in it)


@dataclass(frozen=True)
class AnomalyConfig:
    """How minutes are flagged and windows kept."""

    rules: FlagRules = FlagRules()
    min_minutes: int = 3
    merge_gap: int = 5
    hold: float = 0.5
    spike_score: float = 10.0
    max_drivers: int = 5
    min_driver_share: float = 0.05


@dataclass(frozen=True)
class Driver:
    """A consumer behind an anomaly: its count in the window vs its own baseline."""

    app: str
    client_id: str
    actual: float
    expected: float
    excess: float
    share: float


@dataclass(frozen=True)
class Anomaly:
    """One anomaly window (``start`` inclusive, ``end`` exclusive)."""

    proxy: str
    metric: str
    unit: str
    start: pd.Timestamp
    end: pd.Timestamp
    flagged_minutes: int
    peak_at: pd.Timestamp
    peak_value: float
    baseline: float
    score: float
    severity: str
    drivers: tuple[Driver, ...] = ()

    @property
    def minutes(self) -> int:
        return int((self.end - self.start) / pd.Timedelta(minutes=1))

    def to_dict(self) -> dict:
        out = asdict(self)
        for key in ("start", "end", "peak_at"):
            out[key] = getattr(self, key).isoformat()
        out["minutes"] = self.minutes
        out["drivers"] = [asdict(d) for d in self.drivers]
        return out


def severity(score: float, minutes: int) -> str:
    """``high``: score 10+, or 6+ for 15+ minutes; ``medium``: score 6+ or 15+ minutes."""
    if score >= 10 or (score >= 6 and minutes >= 15):
        return "high"
    return "medium" if score >= 6 or minutes >= 15 else "low"


def detect(
    proxy_minutes: pd.DataFrame,
    app_minutes: pd.DataFrame | None = None,
    config: AnomalyConfig = AnomalyConfig(),
    seasonality: str | None = None,
) -> tuple[list[Anomaly], str]:
    """Anomalies of every proxy and metric, and the seasonality used.

    ``proxy_minutes`` is shaped like ``Analysis.proxy_minutes`` (one row per
    proxy and minute, quiet minutes as zeros; ``requests``, ``errors_5xx``,
    ``p95_ms``); ``app_minutes`` like ``Analysis.app_minutes`` (``proxy``,
    ``app``, ``client_id``, ``minute``, ``requests``, ``errors_5xx``; minutes
    without traffic may be absent). Without ``app_minutes`` no drivers are named.
    """
    if proxy_minutes.empty:
        return [], seasonality or choose_seasonality(proxy_minutes["minute"])
    seasonality = seasonality or choose_seasonality(proxy_minutes["minute"])
    by_proxy = {} if app_minutes is None else _consumers_by_proxy(app_minutes)
    found: list[Anomaly] = []
    for metric in METRICS:
        scored = flag_minutes(proxy_minutes, metric, seasonality=seasonality, rules=config.rules)
        for proxy, rows in scored.groupby("proxy", observed=True, sort=True):
            rows = rows.sort_values("minute", kind="stable")
            for lo, hi, n in _windows(rows, config, metric):
                window = rows.iloc[lo : hi + 1]
                anomaly = _anomaly(str(proxy), metric, window, n)
                consumers = by_proxy.get(proxy)
                if consumers is not None:
                    anomaly = _with_drivers(anomaly, consumers, rows, seasonality, config)
                found.append(anomaly)
    found.sort(key=lambda a: (a.start, a.proxy, METRICS.index(a.metric)))
    return found, seasonality


def _windows(rows: pd.DataFrame, config: AnomalyConfig, metric: str):
    """(first row, last row, flagged count) of each window worth reporting."""
    flagged = rows["flagged"].to_numpy()
    if not flagged.any():
        return
    score = np.nan_to_num(rows["score"].to_numpy(), nan=-np.inf)
    support = flagged | (score > config.rules.threshold * config.hold)
    held = np.flatnonzero(support)
    minute = minute_numbers(rows["minute"])[held]
    cuts = np.flatnonzero(np.diff(minute) > config.merge_gap + 1) + 1
    for run in np.split(held, cuts):
        n_flagged = int(flagged[run].sum())
        peak = float(np.max(score[run]))
        spike = metric == "requests" and peak >= config.spike_score
        if n_flagged >= config.min_minutes or (n_flagged and spike):
            yield int(run[0]), int(run[-1]), n_flagged


def _anomaly(proxy: str, metric: str, window: pd.DataFrame, flagged: int) -> Anomaly:
    flagged_rows = window[window["flagged"]]
    peak = flagged_rows.loc[flagged_rows["score"].idxmax()]
    start = pd.Timestamp(window["minute"].iloc[0])
    end = pd.Timestamp(window["minute"].iloc[-1]) + pd.Timedelta(minutes=1)
    minutes = int((end - start) / pd.Timedelta(minutes=1))
    return Anomaly(
        proxy=proxy,
        metric=metric,
        unit=UNITS[metric],
        start=start,
        end=end,
        flagged_minutes=flagged,
        peak_at=pd.Timestamp(peak["minute"]),
        peak_value=float(peak["value"]),
        baseline=float(peak["baseline"]),
        score=round(float(peak["score"]), 2),
        severity=severity(float(peak["score"]), minutes),
    )


@dataclass(frozen=True)
class _Consumers:
    """One proxy's consumer minutes as arrays: minute, consumer code, counts."""

    minute: np.ndarray
    code: np.ndarray
    labels: list[tuple[str, str]]
    frame: pd.DataFrame


def _consumers_by_proxy(app_minutes: pd.DataFrame) -> dict[object, _Consumers]:
    out = {}
    for proxy, frame in app_minutes.groupby("proxy", observed=True):
        grouped = frame.groupby(["app", "client_id"], observed=True, sort=False)
        code = grouped.ngroup().to_numpy()
        firsts = grouped.head(1)  # in first-seen order, matching ngroup with sort=False
        labels = list(zip(firsts["app"].astype(str), firsts["client_id"].astype(str), strict=True))
        out[proxy] = _Consumers(minute_numbers(frame["minute"]), code, labels, frame)
    return out


def _with_drivers(
    anomaly: Anomaly,
    consumers: _Consumers,
    proxy_rows: pd.DataFrame,
    seasonality: str,
    config: AnomalyConfig,
) -> Anomaly:
    column = _DRIVER_COLUMN[anomaly.metric]
    span = minute_numbers(proxy_rows["minute"])
    first, last = int(span.min()), int(span.max())
    t0 = int(minute_numbers([anomaly.start])[0])
    t1 = int(minute_numbers([anomaly.end])[0]) - 1
    minute, codes, labels = consumers.minute, consumers.code, consumers.labels
    counts = consumers.frame[column].to_numpy(dtype=np.float64)
    in_window = (minute >= t0) & (minute <= t1)
    totals = np.bincount(codes[in_window], weights=counts[in_window], minlength=len(labels))
    candidates = np.argsort(-totals, kind="stable")[:_CANDIDATES]
    candidates = candidates[totals[candidates] > 0]
    if candidates.size == 0:
        return anomaly
    row_of = np.full(len(labels), -1)
    row_of[candidates] = np.arange(candidates.size)
    keep = (row_of[codes] >= 0) & (minute >= first) & (minute <= last)
    matrix = np.zeros((candidates.size, last - first + 1))
    matrix[row_of[codes[keep]], minute[keep] - first] = counts[keep]
    median, _ = seasonal_baseline(matrix, slots(minute_grid(first, last - first + 1), seasonality))
    cols = slice(t0 - first, t1 - first + 1)
    actual = matrix[:, cols].sum(axis=1)
    expected = np.nan_to_num(median[:, cols]).sum(axis=1)
    # Only an excess beyond Poisson noise drives anything.
    significant = count_score(actual, expected) > config.rules.threshold
    excess = np.where(significant, actual - expected, 0.0)
    positive = excess[excess > 0].sum()
    drivers = []
    for i in np.argsort(-excess, kind="stable")[: config.max_drivers]:
        share = excess[i] / positive if positive > 0 else 0.0
        if excess[i] <= 0 or share < config.min_driver_share:
            break
        app, client = labels[candidates[i]]
        drivers.append(
            Driver(
                app,
                client,
                float(actual[i]),
                round(float(expected[i]), 2),
                round(float(excess[i]), 2),
                round(float(share), 4),
            )
        )
    return replace(anomaly, drivers=tuple(drivers))
