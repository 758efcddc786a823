"""The candidate forecasting methods: hourly series in, the next ``horizon`` hours out.

Every method takes the history (hourly values, NaN where an hour was wholly
excluded), its UTC index and a horizon, and returns that many hourly values:

- ``seasonal_naive`` (the baseline): the same hour one season ago, repeated;
- ``seasonal_median``: the median of the same hour over the last seasons (up
  to 7), and with a daily season only over days of the same type
  (weekday/weekend) — a weekly seasonal median is hard to beat (Kaggle Web
  Traffic; docs/throttling.md, 'Forecast anchor'). Both are flat: they cannot
  follow a trend;
- ``ets_damped_add`` / ``ets_damped_log``: exponential smoothing with a damped
  additive trend (statsmodels ``ExponentialSmoothing``,
  Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed.,
  ch. 8) fitted to the *daily level* (the mean of the day's hours, divided by
  its day-of-week or weekday/weekend factor), times the hour-of-day shape of
  the same day type. Fitting dozens of daily points instead of hundreds of
  hourly ones keeps a fit near 20 ms, so a week-ahead backtest over many
  origins stays affordable; the trend is what the flat methods lack. The
  ``log`` variant smooths the log of the level: a damped *multiplicative*
  growth (x% a day). statsmodels' own ``trend="mul"`` was not used: on a
  steadily growing test series its fit set both smoothing constants to 0 and
  its forecast jumped 40 % above the last level at the origin.
  ``ets_log_trend`` is the same without damping (Holt's linear trend on the
  log level): steady x%-a-day growth, which damping under-forecasts on short
  histories. The week-ahead backtest arbitrates between them.

The season is a week (168 h) with 14 days or more of history, else a day.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

HOURS_PER_WEEK = 168
_SHAPE_DAYS = 28  # the hour-of-day shape is the median over at most four weeks


def season_of(hours: int) -> int:
    return HOURS_PER_WEEK if hours >= 14 * 24 else 24


def future_index(index: pd.DatetimeIndex, horizon: int) -> pd.DatetimeIndex:
    start = index[-1] + pd.Timedelta(hours=1) if len(index) else pd.Timestamp(0, tz="UTC")
    return pd.date_range(start, periods=horizon, freq="h")


def seasonal_naive(history: np.ndarray, index: pd.DatetimeIndex, horizon: int) -> np.ndarray:
    season = season_of(history.size)
    last = filled(history, index)[-season:]
    return np.resize(last, horizon)


def seasonal_median(history: np.ndarray, index: pd.DatetimeIndex, horizon: int) -> np.ndarray:
    season = season_of(history.size)
    n = history.size
    weekend = pd.DatetimeIndex(index).day_of_week.to_numpy() >= 5
    future_weekend = future_index(index, horizon).day_of_week.to_numpy() >= 5
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


def ets_damped_add(history: np.ndarray, index: pd.DatetimeIndex, horizon: int) -> np.ndarray:
    return _ets_by_day(history, index, horizon, "add")


def ets_damped_log(history: np.ndarray, index: pd.DatetimeIndex, horizon: int) -> np.ndarray:
    return _ets_by_day(history, index, horizon, "log")


def ets_log_trend(history: np.ndarray, index: pd.DatetimeIndex, horizon: int) -> np.ndarray:
    return _ets_by_day(history, index, horizon, "log", damped=False)


METHODS = {
    "seasonal_naive": seasonal_naive,
    "seasonal_median": seasonal_median,
    "ets_damped_add": ets_damped_add,
    "ets_damped_log": ets_damped_log,
    "ets_log_trend": ets_log_trend,
}
FLAT = ("seasonal_naive", "seasonal_median")


def _ets_by_day(
    history: np.ndarray, index: pd.DatetimeIndex, horizon: int, trend: str, damped: bool = True
) -> np.ndarray:
    """Damped-trend smoothing of the de-seasonalised daily level, times the day's shape."""
    y = filled(history, index)
    skip = (24 - index[0].hour) % 24 if len(index) else 0  # whole calendar days only
    days = (y.size - skip) // 24
    if days < 4:  # too few daily points to estimate a trend
        return seasonal_median(history, index, horizon)
    grid = y[skip : skip + days * 24].reshape(days, 24)
    first_day = index[skip]
    level = np.maximum(grid.mean(axis=1), 1e-6)
    kind = _day_kind(pd.date_range(first_day, periods=days, freq="D"), weekly=days >= 14)
    factor = _day_factors(level, kind)
    future = future_index(index, horizon)
    day_of = ((future - first_day) // pd.Timedelta(days=1)).to_numpy() - days
    trend_level = _fit_trend(level / factor[kind], trend, int(day_of.max()) + 1, damped)
    f_kind = _day_kind(future, weekly=days >= 14)
    shape = _shape(grid, level, kind)
    out = trend_level[np.maximum(day_of, 0)] * factor[f_kind] * shape[f_kind, future.hour.to_numpy()]
    return np.maximum(out, 0.0)


def _fit_trend(levels: np.ndarray, trend: str, ahead: int, damped: bool = True) -> np.ndarray:
    """``ahead`` daily levels from an additive (damped) trend on the levels (or their log)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing  # heavy import: only when used

    logged = trend == "log"
    data = np.log(levels) if logged else levels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short series
        try:
            fit = ExponentialSmoothing(
                data, trend="add", damped_trend=damped, initialization_method="estimated"
            ).fit(use_brute=False, method="SLSQP")  # the default's fit here, 10x faster
            ahead_levels = np.asarray(fit.forecast(ahead), dtype=float)
            ahead_levels = np.exp(ahead_levels) if logged else ahead_levels
        except (ValueError, np.linalg.LinAlgError):
            ahead_levels = np.full(ahead, float(np.median(levels[-7:])))
    if not np.isfinite(ahead_levels).all():
        ahead_levels = np.full(ahead, float(np.median(levels[-7:])))
    return np.maximum(ahead_levels, 0.0)


def _day_kind(days: pd.DatetimeIndex, weekly: bool) -> np.ndarray:
    """Per day: its day of week (0-6) with two weeks of data, else weekday 0 / weekend 5."""
    dow = pd.DatetimeIndex(days).day_of_week.to_numpy()
    return dow if weekly else np.where(dow >= 5, 5, 0)


def _day_factors(level: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Each day type's level relative to its neighbourhood (a centred 7-day mean), 1 if unseen."""
    local = pd.Series(level).rolling(7, center=True, min_periods=3).mean().to_numpy()
    ratio = level / np.maximum(local, 1e-6)
    factor = np.ones(7)
    for k in np.unique(kind):
        factor[k] = float(np.median(ratio[kind == k]))
    if (kind == 0).any() and not (kind == 5).any():
        factor[5] = factor[0]  # no weekend seen yet: treat it like a weekday
    unseen = ~np.isin(np.arange(7), kind)
    factor[unseen & (np.arange(7) < 5)] = factor[0] if (kind == 0).any() else 1.0
    return np.maximum(factor, 1e-3) / max(float(np.mean(factor[np.unique(kind)])), 1e-3)


def _shape(grid: np.ndarray, level: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Hour-of-day shape (value / day level) per day type: the median over recent days."""
    ratio = grid / level[:, None]
    recent = np.arange(level.size) >= level.size - _SHAPE_DAYS
    overall = np.median(ratio[recent], axis=0)
    shape = np.tile(overall, (7, 1))
    for k in np.unique(kind):
        mine = recent & (kind == k)
        if mine.any():
            shape[k] = np.median(ratio[mine], axis=0)
    if not (kind >= 5).any():
        shape[5:] = overall
    return shape


def filled(history: np.ndarray, index: pd.DatetimeIndex) -> np.ndarray:
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


def log_residuals(history: np.ndarray, index: pd.DatetimeIndex, days: int = 14) -> np.ndarray:
    """Hour-to-hour noise: log((y + 1) / (fit + 1)) over the last ``days`` whole days.

    The fit is each day's mean level times its day type's hour-of-day shape, so
    what is left is the busiest-minute noise a smooth forecast path lacks.
    """
    y = filled(history, index)
    skip = (24 - index[0].hour) % 24 if len(index) else 0
    whole = (y.size - skip) // 24
    if whole < 2:
        return np.zeros(0)
    grid = y[skip : skip + whole * 24].reshape(whole, 24)
    level = np.maximum(grid.mean(axis=1), 1e-6)
    first = index[skip]
    kind = _day_kind(pd.date_range(first, periods=whole, freq="D"), weekly=whole >= 14)
    fit = level[:, None] * _shape(grid, level, kind)[kind]
    return np.log((grid[-days:] + 1.0) / (fit[-days:] + 1.0)).ravel()


def noisy_peak(path: np.ndarray, residuals: np.ndarray, draws: int = 300) -> float:
    """The median peak of ``path`` with hourly noise resampled from ``residuals``.

    The busiest hour of a real week sits above the busiest hour of a smooth
    path; resampling the history's own noise (fixed seed: same input, same
    answer) puts it back.
    """
    if path.size == 0:
        return 0.0
    if residuals.size == 0:
        return float(path.max())
    rng = np.random.default_rng(0)
    noise = rng.choice(residuals, size=(draws, path.size))
    peaks = ((path + 1.0) * np.exp(noise) - 1.0).max(axis=1)
    return float(np.median(peaks))
