"""Next week's peak: hourly forecasts chosen by a backtest against seasonal naive.

The series is hourly: the busiest minute's legitimate, healthy demand in each
hour (requests/min), NaN for hours wholly inside excluded windows. Candidate
methods, all in numpy:

- ``seasonal_naive`` (the baseline): the same hour one season ago, repeated;
- ``seasonal_median``: the median of the same hour over the last seasons (up
  to 7), and with a daily season only over days of the same type
  (weekday/weekend) when there are any — a weekly seasonal median is hard to
  beat (Kaggle Web Traffic; docs/throttling.md, 'Forecast anchor');
- ``holt_winters``: additive level + damped trend + seasonal terms, the
  smoothing constants picked on a small grid by one-step error.

The season is a week (168 h) with 14 days or more of history, else a day
(24 h). The backtest is rolling-origin: each of the last ``folds`` days (or
weeks, with three weeks of data) is forecast from everything before it, and
the mean absolute error (MAE) over its non-missing hours is averaged. The
method with the lowest backtest MAE is chosen; seasonal naive is one of the
candidates, so the choice is never worse than it on the backtest. Both errors
are reported.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

HOURS_PER_WEEK = 168
_GRID = list(itertools.product((0.05, 0.2, 0.5), (0.0, 0.05), (0.05, 0.2, 0.5)))
_PHI = 0.9


@dataclass(frozen=True)
class Forecast:
    """One series' forecast, its backtest and next week's peak."""

    target: str
    kind: str  # proxy | app
    method: str
    errors: dict[str, float]  # backtest MAE per method (req/min)
    history: pd.Series  # hourly, UTC
    values: pd.Series  # next week's hourly forecast
    backtest: str

    @property
    def naive_error(self) -> float | None:
        return self.errors.get("seasonal_naive")

    @property
    def chosen_error(self) -> float | None:
        return self.errors.get(self.method)

    @property
    def peak(self) -> float:
        return float(np.nanmax(self.values.to_numpy())) if len(self.values) else 0.0

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
    def growth(self) -> float:
        """Next week's mean over the last week's mean (1.0 when unknown)."""
        tail = self.history.to_numpy()[-HOURS_PER_WEEK:]
        past = float(np.nanmean(tail)) if np.isfinite(tail).any() else 0.0
        ahead = float(np.nanmean(self.values.to_numpy())) if len(self.values) else 0.0
        return ahead / past if past > 0 else 1.0


def season_of(hours: int) -> int:
    return HOURS_PER_WEEK if hours >= 14 * 24 else 24


def seasonal_naive(history: np.ndarray, index: pd.DatetimeIndex, horizon: int) -> np.ndarray:
    season = season_of(history.size)
    last = _filled(history, index)[-season:]
    return np.resize(last, horizon)


def seasonal_median(history: np.ndarray, index: pd.DatetimeIndex, horizon: int) -> np.ndarray:
    season = season_of(history.size)
    n = history.size
    weekend = pd.DatetimeIndex(index).day_of_week.to_numpy() >= 5
    future_weekend = _future(index, horizon).day_of_week.to_numpy() >= 5
    out = np.full(horizon, np.nan)
    for h in range(horizon):
        step = n + h
        lags = [step - k * season for k in range(1, 8) if 0 <= step - k * season < n]
        if season == 24:
            same = [i for i in lags if weekend[i] == future_weekend[h]]
            if not same and n >= 7 * 24:
                same = [i for i in range(step % 24, n, 24) if weekend[i] == future_weekend[h]]
            lags = same or lags
        values = history[lags] if lags else np.array([np.nan])
        out[h] = np.nanmedian(values) if np.isfinite(values).any() else np.nan
    return _fill_nan(out, history)


def holt_winters(history: np.ndarray, index: pd.DatetimeIndex, horizon: int) -> np.ndarray:
    season = season_of(history.size)
    y = _filled(history, index)
    if y.size < 2 * season:
        return seasonal_median(history, index, horizon)
    best, best_err = None, np.inf
    for alpha, beta, gamma in _GRID:
        err, state = _hw_fit(y, season, alpha, beta, gamma)
        if err < best_err:
            best, best_err = state, err
    level, trend, seasonal = best
    steps = np.arange(1, horizon + 1)
    damped = np.cumsum(_PHI**steps)
    pos = (y.size + steps - 1) % season
    return np.maximum(level + damped * trend + seasonal[pos], 0.0)


def _hw_fit(y: np.ndarray, season: int, alpha: float, beta: float, gamma: float):
    level = float(y[:season].mean())
    trend = float((y[season : 2 * season].mean() - y[:season].mean()) / season)
    seasonal = y[:season] - level
    seasonal = np.r_[seasonal, np.zeros(y.size - season)]
    sse = 0.0
    for t in range(season, y.size):
        s = seasonal[t - season]
        pred = level + _PHI * trend + s
        sse += (y[t] - pred) ** 2
        new_level = alpha * (y[t] - s) + (1 - alpha) * (level + _PHI * trend)
        trend = beta * (new_level - level) + (1 - beta) * _PHI * trend
        seasonal[t] = gamma * (y[t] - new_level) + (1 - gamma) * s
        level = new_level
    by_phase = np.empty(season)
    by_phase[np.arange(y.size - season, y.size) % season] = seasonal[-season:]
    return sse, (level, trend, by_phase)


METHODS = {
    "seasonal_naive": seasonal_naive,
    "seasonal_median": seasonal_median,
    "holt_winters": holt_winters,
}


def _future(index: pd.DatetimeIndex, horizon: int) -> pd.DatetimeIndex:
    start = index[-1] + pd.Timedelta(hours=1) if len(index) else pd.Timestamp(0, tz="UTC")
    return pd.date_range(start, periods=horizon, freq="h")


def _filled(history: np.ndarray, index: pd.DatetimeIndex) -> np.ndarray:
    """Missing hours filled from the same hour of other days (the day-type median)."""
    y = history.astype(float).copy()
    missing = np.flatnonzero(np.isnan(y))
    if missing.size == 0:
        return y
    hour = index.hour.to_numpy()
    weekend = index.day_of_week.to_numpy() >= 5
    for i in missing:
        pool = y[(hour == hour[i]) & (weekend == weekend[i])]
        pool = pool[np.isfinite(pool)]
        if pool.size == 0:
            pool = y[(hour == hour[i]) & np.isfinite(y)]
        y[i] = np.median(pool) if pool.size else (np.nanmedian(y) if np.isfinite(y).any() else 0.0)
    return y


def _fill_nan(values: np.ndarray, history: np.ndarray) -> np.ndarray:
    fallback = np.nanmedian(history) if np.isfinite(history).any() else 0.0
    return np.where(np.isnan(values), fallback, values)


def backtest(series: pd.Series, folds: int = 3) -> tuple[dict[str, float], str]:
    """Rolling-origin MAE per method over the last ``folds`` periods (see module docstring)."""
    values = series.to_numpy(dtype=float)
    index = pd.DatetimeIndex(series.index)
    horizon = HOURS_PER_WEEK if values.size >= 21 * 24 else 24
    folds = min(folds, values.size // horizon - 3 if horizon == 24 else values.size // horizon - 2)
    if folds < 1:
        return {}, "too little history to backtest (needs 4 days)"
    errors: dict[str, list[float]] = {m: [] for m in METHODS}
    for f in range(folds, 0, -1):
        cut = values.size - f * horizon
        actual = values[cut : cut + horizon]
        ok = np.isfinite(actual)
        if not ok.any():
            continue
        for name, method in METHODS.items():
            predicted = method(values[:cut], index[:cut], horizon)
            errors[name].append(float(np.mean(np.abs(predicted[ok] - actual[ok]))))
    unit = "week" if horizon == HOURS_PER_WEEK else "day"
    text = f"rolling origin, {folds} x one {unit} ahead, MAE in req/min"
    return {m: float(np.mean(e)) for m, e in errors.items() if e}, text


def forecast(series: pd.Series, target: str, kind: str, horizon: int = HOURS_PER_WEEK) -> Forecast:
    """Backtest every method, keep the best, forecast the next ``horizon`` hours."""
    errors, text = backtest(series)
    method = (
        min(errors, key=lambda m: (errors[m], m != "seasonal_naive"))
        if errors
        else ("seasonal_median")
    )
    values = series.to_numpy(dtype=float)
    index = pd.DatetimeIndex(series.index)
    ahead = METHODS[method](values, index, horizon) if values.size else np.zeros(horizon)
    future = _future(index, horizon)
    return Forecast(target, kind, method, errors, series, pd.Series(ahead, index=future), text)


def hourly_peaks(counts: np.ndarray, healthy: np.ndarray, first_minute: int) -> pd.Series:
    """Per clock hour, the busiest healthy minute (NaN if the hour had no healthy minute)."""
    offset = first_minute % 60
    padded = np.r_[np.full(offset, np.nan), np.where(healthy, counts, np.nan).astype(float)]
    hours = -(-padded.size // 60)
    padded = np.r_[padded, np.full(hours * 60 - padded.size, np.nan)]
    grid = padded.reshape(hours, 60)
    peak = np.where(np.isfinite(grid), grid, -np.inf).max(axis=1)
    peak[np.isinf(peak)] = np.nan
    start = pd.Timestamp((first_minute - offset) * 60_000, unit="ms", tz="UTC")
    return pd.Series(peak, index=pd.date_range(start, periods=hours, freq="h"))
