"""Robust seasonal baselines and per-minute flags (modified z-scores).

The baseline of a minute is the median of the same *slot* over the whole
series, its scale 1.4826 x the MAD of that slot (a robust standard
deviation). The slot depends on how much data there is:

- ``hour_of_week`` (168 slots) with at least 14 days, so every slot has two
  weeks behind it — the weekly seasonal median THROTTLING.md recommends;
- ``hour_of_day_daytype`` (24 hours x weekday/weekend) with under 14 days but
  at least two weekdays and two weekend days, so a quiet weekend is not a drop
  and a busy Monday not a burst;
- ``hour_of_day`` (24 slots) otherwise.

Hours are UTC. The score of a minute is ``(value - median) / scale``, the
modified z-score of Iglewicz and Hoaglin; a minute is flagged above 3.5
(THROTTLING.md, "Forecasting and anomaly anchors"). Only rises are flagged: a
surge in requests, a higher 5xx share, a slower p95. Each metric floors the
scale with its sampling noise so a flat slot (MAD 0) does not turn a single
error into an infinite score: requests use the Poisson sd ``sqrt(median)``;
the 5xx share the binomial sd ``sqrt(p (1-p) / n)`` with ``p`` at least 0.5 %,
and needs ``min_errors`` 5xx in the minute; p95 latency 10 % of the median (the
per-minute histogram's resolution is 5 %) and needs ``min_requests`` requests.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

HOUR_OF_WEEK = "hour_of_week"
HOUR_OF_DAY_DAYTYPE = "hour_of_day_daytype"
HOUR_OF_DAY = "hour_of_day"
METRICS = ("requests", "error_rate", "latency_p95")
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class FlagRules:
    """Thresholds of ``flag_minutes``."""

    threshold: float = 3.5
    min_errors: int = 3  # 5xx in a minute before its share can be flagged
    min_requests: int = 5  # requests in a minute before its p95 can be flagged
    min_error_share: float = 0.005  # floor of p in the binomial sd
    latency_rel_floor: float = 0.10


def choose_seasonality(minutes: pd.DatetimeIndex | pd.Series) -> str:
    """The slot kind the data supports (see module docstring)."""
    minutes = pd.DatetimeIndex(minutes)
    if len(minutes) == 0:
        return HOUR_OF_DAY
    if minutes.max() - minutes.min() >= pd.Timedelta(days=14):
        return HOUR_OF_WEEK
    days = pd.DatetimeIndex(minutes.normalize().unique())
    weekend = int((days.dayofweek >= 5).sum())
    if weekend >= 2 and len(days) - weekend >= 2:
        return HOUR_OF_DAY_DAYTYPE
    return HOUR_OF_DAY


def slots(minutes: pd.DatetimeIndex | pd.Series, seasonality: str) -> np.ndarray:
    """The slot number of every minute."""
    minutes = pd.DatetimeIndex(minutes)
    hour = minutes.hour.to_numpy()
    if seasonality == HOUR_OF_WEEK:
        return minutes.dayofweek.to_numpy() * 24 + hour
    if seasonality == HOUR_OF_DAY_DAYTYPE:
        return (minutes.dayofweek.to_numpy() >= 5) * 24 + hour
    if seasonality == HOUR_OF_DAY:
        return hour
    raise ValueError(f"unknown seasonality {seasonality!r}")


def seasonal_baseline(values: np.ndarray, slot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and robust sd (1.4826 x MAD) of each value's slot, ignoring NaN.

    ``values`` is ``[minutes]`` or ``[series, minutes]``; ``slot`` gives each
    minute's slot. Returns two arrays shaped like ``values``.
    """
    data = np.atleast_2d(np.asarray(values, dtype=np.float64))
    median = np.full(data.shape, np.nan)
    scale = np.full(data.shape, np.nan)
    order = np.argsort(slot, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(slot[order]) != 0, True])
    # All-NaN slots (no defined value) legitimately yield NaN: silence numpy.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            cols = order[a:b]
            block = data[:, cols]
            med = np.nanmedian(block, axis=1, keepdims=True)
            mad = np.nanmedian(np.abs(block - med), axis=1, keepdims=True)
            median[:, cols] = med
            scale[:, cols] = mad * MAD_TO_SD
    return median.reshape(np.shape(values)), scale.reshape(np.shape(values))


def metric_values(frame: pd.DataFrame, metric: str, rules: FlagRules) -> np.ndarray:
    """Per-row value of ``metric`` (NaN where it is not defined)."""
    requests = frame["requests"].to_numpy(dtype=np.float64)
    if metric == "requests":
        return requests
    with np.errstate(all="ignore"):
        if metric == "error_rate":
            return np.where(requests > 0, frame["errors_5xx"].to_numpy() / requests, np.nan)
    if metric == "latency_p95":
        p95 = frame["p95_ms"].to_numpy(dtype=np.float64)
        return np.where(requests >= rules.min_requests, p95, np.nan)
    raise ValueError(f"unknown metric {metric!r}; choose one of {METRICS}")


def noise_floor(metric: str, median: np.ndarray, requests: np.ndarray, rules: FlagRules):
    """The smallest scale a metric may have: its sampling noise."""
    if metric == "requests":
        return np.sqrt(np.maximum(median, 1.0))
    if metric == "error_rate":
        p = np.clip(np.nan_to_num(median), rules.min_error_share, 0.5)
        return np.sqrt(p * (1 - p) / np.maximum(requests, 1.0))
    return np.maximum(rules.latency_rel_floor * np.nan_to_num(median), 1e-3)


def flag_minutes(
    frame: pd.DataFrame,
    metric: str,
    *,
    group: str = "proxy",
    seasonality: str | None = None,
    rules: FlagRules = FlagRules(),
) -> pd.DataFrame:
    """Score each minute of a per-minute frame against its group's seasonal baseline.

    ``frame`` has one row per ``group`` and ``minute`` (UTC timestamps), quiet
    minutes included as zero rows (``Analysis.proxy_minutes`` is such a frame),
    and the columns the metric needs: ``requests``, plus ``errors_5xx`` for
    ``error_rate`` and ``p95_ms`` for ``latency_p95``. Returns, on the same
    index: ``group``, ``minute``, ``value``, ``baseline``, ``scale``, ``score``
    and ``flagged``; ``.attrs["seasonality"]`` names the slots used.
    """
    seasonality = seasonality or choose_seasonality(frame["minute"])
    values = metric_values(frame, metric, rules)
    codes, _ = pd.factorize(frame[group])
    minute = minute_numbers(frame["minute"])
    first = int(minute.min()) if minute.size else 0
    col = minute - first
    matrix = np.full((int(codes.max(initial=-1)) + 1, int(col.max(initial=-1)) + 1), np.nan)
    matrix[codes, col] = values
    grid = pd.to_datetime((first + np.arange(matrix.shape[1])) * 60_000, unit="ms", utc=True)
    med, sd = seasonal_baseline(matrix, slots(grid, seasonality))
    median = med[codes, col]
    requests = frame["requests"].to_numpy(dtype=np.float64)
    scale = np.fmax(sd[codes, col], noise_floor(metric, median, requests, rules))
    with np.errstate(all="ignore"):
        score = (values - median) / scale
    flagged = np.nan_to_num(score, nan=-np.inf) > rules.threshold
    if metric == "error_rate":
        flagged &= frame["errors_5xx"].to_numpy() >= rules.min_errors
    out = pd.DataFrame(
        {
            group: frame[group],
            "minute": frame["minute"],
            "value": values,
            "baseline": median,
            "scale": scale,
            "score": score,
            "flagged": flagged,
        },
        index=frame.index,
    )
    out.attrs["seasonality"] = seasonality
    return out


def minute_numbers(minutes: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Unix minute numbers of UTC timestamps."""
    ms = pd.DatetimeIndex(minutes).as_unit("ms").asi8
    return np.asarray(ms, dtype=np.int64) // 60_000
