"""Next week's peak: hourly forecasts chosen by a week-ahead backtest, with an interval.

The series is hourly: the busiest minute's legitimate, healthy demand in each
hour (requests/min), NaN for hours wholly inside excluded windows. The
candidate methods are in ``forecast_methods`` (seasonal naive, the seasonal
median, damped-trend exponential smoothing from statsmodels).

The backtest is *horizon-matched* and rolling-origin: from origins a day
apart, each with at least a week of history behind it, every method forecasts
the following week (168 h) and its mean absolute error (MAE) over the
non-missing hours is kept, with the log error of the week's peak. Up to
``MAX_ORIGINS`` origins, spread over the history, the latest always in. The
method with the lowest *recency-weighted* mean MAE is chosen (seasonal naive
wins ties, so the choice is never worse than it on the backtest); every
method's weighted mean MAE and spread (standard deviation over origins) are
reported. An origin's weight halves every ``HALF_LIFE_DAYS`` of its age
(days before the latest origin): when the daily shape changed a week or two
ago, the old origins still favour the seasonal median's old shape, while the
latest ones already favour last week repeated (the harness's "seasonality
change": MAE 6.4 -> 2.6 on its seeds). The cost is a noisier choice when one
odd day sits in the latest origins' weeks ("holiday in history": 2.3 -> 2.8,
still half of seasonal naive's 5.2); both measured by ``bench/eval_advice.py``,
the half-life chosen on the calibration seeds 100-131, not the reported ones.

With less than two weeks of history no week-ahead origin exists: the backtest
then says so, forecasts as far ahead as the history allows (at least four days
of training), and the interval is widened by sqrt(168 / horizon) — the random
walk's growth of error with horizon — rather than pretending. Under five days
nothing is backtested and the interval is wide by construction.

The interval of next week's peak (``forecast_interval``) comes from the chosen
method's peak errors over the origins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from copilot.throttling.forecast_interval import PeakInterval, peak_interval
from copilot.throttling.forecast_methods import (
    FLAT,
    HOURS_PER_WEEK,
    METHODS,
    filled,
    future_index,
    log_residuals,
    noisy_peak,
    season_of,
    seasonal_median,
    seasonal_naive,
)
from copilot.timeunits import MINUTE_MS

__all__ = [
    "FLAT",
    "HOURS_PER_WEEK",
    "METHODS",
    "Backtest",
    "Forecast",
    "PeakInterval",
    "backtest",
    "filled",
    "forecast",
    "hourly_peaks",
    "season_of",
    "seasonal_median",
    "seasonal_naive",
]

MAX_ORIGINS = 5
HALF_LIFE_DAYS = 3.5  # an origin a week older than the latest counts a quarter
MIN_TRAIN_DAYS = 7  # a week-ahead origin needs a week behind it (a weekly shape)
MIN_SHORT_TRAIN_DAYS = 4


@dataclass(frozen=True)
class Backtest:
    """Per method: MAE per origin and log error of the horizon's peak per origin."""

    horizon: int  # hours ahead at each origin
    origins: int
    mae: dict[str, list[float]] = field(default_factory=dict)
    peak_errors: dict[str, list[float]] = field(default_factory=dict)
    text: str = ""
    ages: list[float] = field(default_factory=list)  # per origin: days before the latest

    def weights(self) -> np.ndarray:
        """Per origin: 0.5 ** (age / HALF_LIFE_DAYS), so recent origins decide the choice."""
        return 0.5 ** (np.asarray(self.ages, dtype=float) / HALF_LIFE_DAYS)

    def errors(self) -> dict[str, float]:
        """Per method: the recency-weighted mean MAE over origins."""
        w = self.weights()
        return {
            m: float(np.average(e, weights=w if w.size == len(e) else None))
            for m, e in self.mae.items()
            if e
        }

    def spread(self) -> dict[str, float]:
        return {
            m: float(np.std(e, ddof=1)) if len(e) > 1 else 0.0 for m, e in self.mae.items() if e
        }


@dataclass(frozen=True)
class Forecast:
    """One series' forecast, its backtest and next week's peak with its interval."""

    target: str
    kind: str  # proxy | app
    method: str
    errors: dict[str, float]  # mean backtest MAE per method (req/min)
    history: pd.Series  # hourly, UTC
    values: pd.Series  # next week's hourly forecast (the point path)
    backtest: str
    spread: dict[str, float] = field(default_factory=dict)  # std of MAE over origins
    interval: PeakInterval | None = None
    horizon: int = HOURS_PER_WEEK  # the backtest's hours ahead
    origins: int = 0
    point_peak: float | None = None  # the path's peak with hourly noise put back
    peak_errors: tuple[float, ...] = ()  # the chosen method's backtest log peak errors

    @property
    def naive_error(self) -> float | None:
        return self.errors.get("seasonal_naive")

    @property
    def chosen_error(self) -> float | None:
        return self.errors.get(self.method)

    @property
    def peak(self) -> float:
        """Next week's point peak (what sizing multiplies by headroom).

        A smooth path's own maximum under-states the busiest hour of a real
        week, so it is the path with the history's hourly noise put back.
        """
        if self.point_peak is not None:
            return self.point_peak
        return float(np.nanmax(self.values.to_numpy())) if len(self.values) else 0.0

    @property
    def p50(self) -> float:
        return self.interval.p50 if self.interval else self.peak

    @property
    def p90(self) -> float:
        return self.interval.p90 if self.interval else self.peak

    @property
    def p99(self) -> float:
        return self.interval.p99 if self.interval else self.peak

    @property
    def peak_at(self) -> pd.Timestamp | None:
        if not len(self.values) or np.isnan(self.values.to_numpy()).all():
            return None
        return pd.Timestamp(self.values.idxmax())

    @property
    def last_week_peak(self) -> float:
        tail = self.history.to_numpy()[-HOURS_PER_WEEK:]
        return float(np.nanmax(tail)) if np.isfinite(tail).any() else 0.0

    @property
    def highest_seen(self) -> float:
        """The highest healthy hourly peak in the whole history."""
        values = self.history.to_numpy()
        return float(np.nanmax(values)) if np.isfinite(values).any() else 0.0

    @property
    def growth(self) -> float:
        """Next week's mean over the last week's mean (1.0 when unknown)."""
        tail = self.history.to_numpy()[-HOURS_PER_WEEK:]
        past = float(np.nanmean(tail)) if np.isfinite(tail).any() else 0.0
        ahead = float(np.nanmean(self.values.to_numpy())) if len(self.values) else 0.0
        return ahead / past if past > 0 else 1.0

    def probability_above(self, limit: float) -> float:
        """Probability that next week's peak exceeds ``limit`` req/min."""
        return self.interval.probability_above(limit) if self.interval else float(self.peak > limit)


def _cuts(n: int, horizon: int, min_train: int) -> list[int]:
    """Origins (history lengths) a day apart, the latest first, at most MAX_ORIGINS spread out."""
    last = n - horizon
    if last < min_train:
        return []
    cuts = list(range(last, min_train - 1, -24))
    if len(cuts) <= MAX_ORIGINS:
        return cuts
    pick = np.unique(np.round(np.linspace(0, len(cuts) - 1, MAX_ORIGINS)).astype(int))
    return [cuts[i] for i in pick]


def backtest(series: pd.Series) -> Backtest:
    """Rolling-origin errors per method at the forecast's horizon (see module docstring)."""
    values = series.to_numpy(dtype=float)
    index = pd.DatetimeIndex(series.index)
    horizon = HOURS_PER_WEEK
    cuts = _cuts(values.size, horizon, MIN_TRAIN_DAYS * 24)
    short = ""
    if not cuts:
        horizon = min(HOURS_PER_WEEK, (values.size // 24 - MIN_SHORT_TRAIN_DAYS) * 24)
        if horizon < 24:
            return Backtest(0, 0, text="too little history to backtest (needs 5 days); "
                            "the interval is wide by construction")  # fmt: skip
        cuts = _cuts(values.size, horizon, MIN_SHORT_TRAIN_DAYS * 24)
        short = (
            f"too little history for a week-ahead backtest (needs 14 days, has "
            f"{values.size / 24:.0f}): backtested {horizon // 24} day(s) ahead, interval widened; "
        )
    mae: dict[str, list[float]] = {m: [] for m in METHODS}
    peaks: dict[str, list[float]] = {m: [] for m in METHODS}
    ages: list[float] = []
    for cut in cuts:
        actual = values[cut : cut + horizon]
        ok = np.isfinite(actual)
        if not ok.any():
            continue
        ages.append((cuts[0] - cut) / 24)
        noise = log_residuals(values[:cut], index[:cut])
        for name, method in METHODS.items():
            predicted = method(values[:cut], index[:cut], horizon)
            mae[name].append(float(np.mean(np.abs(predicted[ok] - actual[ok]))))
            peak = peak_of(name, predicted, noise)
            peaks[name].append(_log_ratio(float(actual[ok].max()), peak))
    used = len(mae["seasonal_naive"])
    ahead = "one week" if horizon == HOURS_PER_WEEK else f"{horizon // 24} day(s)"
    text = (
        f"{short}rolling origin, {used} origin(s) a day apart x {ahead} ahead, MAE in req/min "
        f"weighted to recent origins (half-life {HALF_LIFE_DAYS:g} days)"
    )
    return Backtest(horizon, used, mae, peaks, text, ages)


def peak_of(method: str, path: np.ndarray, noise: np.ndarray) -> float:
    """A path's forecast peak: seasonal naive repeats real (noisy) hours, the rest are smooth."""
    if method == "seasonal_naive" or path.size == 0:
        return float(path.max()) if path.size else 0.0
    return max(noisy_peak(path, noise), float(path.max()))


def _log_ratio(actual: float, predicted: float) -> float:
    # +1 keeps quiet series (0-2 req/min) from exploding the ratio
    return float(np.log((actual + 1.0) / (max(predicted, 0.0) + 1.0)))


def forecast(series: pd.Series, target: str, kind: str, horizon: int = HOURS_PER_WEEK) -> Forecast:
    """Backtest every method, keep the best, forecast the next ``horizon`` hours with an interval."""
    bt = backtest(series)
    errors = bt.errors()
    method = (
        min(errors, key=lambda m: (errors[m], m != "seasonal_naive"))
        if errors
        else "seasonal_median"
    )
    values = series.to_numpy(dtype=float)
    index = pd.DatetimeIndex(series.index)
    ahead = METHODS[method](values, index, horizon) if values.size else np.zeros(horizon)
    path = pd.Series(ahead, index=future_index(index, horizon))
    point = peak_of(method, ahead, log_residuals(values, index)) if values.size else 0.0
    interval = peak_interval(point, bt.peak_errors.get(method, []), bt.horizon)
    return Forecast(
        target, kind, method, errors, series, path, bt.text,
        spread=bt.spread(), interval=interval, horizon=bt.horizon, origins=bt.origins,
        point_peak=point, peak_errors=tuple(bt.peak_errors.get(method, [])),
    )  # fmt: skip


def hourly_peaks(counts: np.ndarray, healthy: np.ndarray, first_minute: int) -> pd.Series:
    """Per clock hour, the busiest healthy minute (NaN if the hour had no healthy minute)."""
    offset = first_minute % 60
    padded = np.r_[np.full(offset, np.nan), np.where(healthy, counts, np.nan).astype(float)]
    hours = -(-padded.size // 60)
    padded = np.r_[padded, np.full(hours * 60 - padded.size, np.nan)]
    grid = padded.reshape(hours, 60)
    peak = np.where(np.isfinite(grid), grid, -np.inf).max(axis=1)
    peak[np.isinf(peak)] = np.nan
    start = pd.Timestamp((first_minute - offset) * MINUTE_MS, unit="ms", tz="UTC")
    return pd.Series(peak, index=pd.date_range(start, periods=hours, freq="h"))
