"""Robust seasonal baselines: the median and MAD of the same slot.

The baseline of a minute is the median of the values in the same *slot* over
the whole series, its scale 1.4826 x the MAD of that slot (a robust standard
deviation; NaN values are ignored). The slot depends on how much data there is:

- ``hour_of_week`` (168 slots) with at least 14 days, so every slot has two
  weeks behind it — the weekly seasonal median (docs/throttling.md, 'Health
  baseline');
- ``hour_of_day_daytype`` (24 hours x weekday/weekend) with under 14 days but
  at least two weekdays and two weekend days, so a quiet weekend is not a drop
  and a busy Monday not a burst;
- ``hour_of_day`` (24 slots) otherwise.

Hours are UTC. ``copilot.analysis.scoring`` turns baselines into per-minute
scores and flags.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from copilot.timeunits import MINUTE_MS

HOUR_OF_WEEK = "hour_of_week"
HOUR_OF_DAY_DAYTYPE = "hour_of_day_daytype"
HOUR_OF_DAY = "hour_of_day"
MAD_TO_SD = 1.4826


def choose_seasonality(minutes: pd.DatetimeIndex | pd.Series) -> str:
    """The slot kind the data supports (see module docstring)."""
    minutes = pd.DatetimeIndex(minutes)
    if len(minutes) == 0:
        return HOUR_OF_DAY
    if minutes.max() - minutes.min() >= pd.Timedelta(days=14):
        return HOUR_OF_WEEK
    days = pd.DatetimeIndex(minutes.normalize().unique())
    weekend = int((days.day_of_week >= 5).sum())
    if weekend >= 2 and len(days) - weekend >= 2:
        return HOUR_OF_DAY_DAYTYPE
    return HOUR_OF_DAY


def slots(minutes: pd.DatetimeIndex | pd.Series, seasonality: str) -> np.ndarray:
    """The slot number of every minute."""
    minutes = pd.DatetimeIndex(minutes)
    hour = minutes.hour.to_numpy()
    if seasonality == HOUR_OF_WEEK:
        return minutes.day_of_week.to_numpy() * 24 + hour
    if seasonality == HOUR_OF_DAY_DAYTYPE:
        return (minutes.day_of_week.to_numpy() >= 5) * 24 + hour
    if seasonality == HOUR_OF_DAY:
        return hour
    raise ValueError(f"unknown seasonality {seasonality!r}")


def seasonal_baseline(values: np.ndarray, slot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and robust sd (1.4826 x MAD) of each value's slot, ignoring NaN.

    ``values`` is ``[minutes]`` or ``[series, minutes]``; ``slot`` gives each
    minute's slot. Returns two arrays shaped like ``values`` (NaN where a slot
    has no value).
    """
    data = np.atleast_2d(np.asarray(values, dtype=np.float64))
    median = np.full(data.shape, np.nan)
    scale = np.full(data.shape, np.nan)
    order = np.argsort(slot, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(slot[order]) != 0, True])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        cols = order[a:b]
        block = data[:, cols]
        med = nanmedian_rows(block)
        median[:, cols] = med[:, None]
        scale[:, cols] = (nanmedian_rows(np.abs(block - med[:, None])) * MAD_TO_SD)[:, None]
    return median.reshape(np.shape(values)), scale.reshape(np.shape(values))


def nanmedian_rows(block: np.ndarray) -> np.ndarray:
    """Median of each row ignoring NaN (NaN for an all-NaN row); faster than np.nanmedian."""
    ordered = np.sort(block, axis=1)  # NaN sorts last
    n = np.count_nonzero(~np.isnan(block), axis=1)
    lo = np.take_along_axis(ordered, np.maximum((n - 1) // 2, 0)[:, None], axis=1)[:, 0]
    hi = np.take_along_axis(ordered, np.maximum(n // 2, 0)[:, None], axis=1)[:, 0]
    return np.where(n > 0, (lo + hi) / 2, np.nan)


def minute_numbers(minutes: pd.Series | pd.DatetimeIndex | list) -> np.ndarray:
    """Unix minute numbers of UTC timestamps."""
    ms = pd.DatetimeIndex(minutes).as_unit("ms").asi8
    return np.asarray(ms, dtype=np.int64) // MINUTE_MS


def minute_grid(first: int, count: int) -> pd.DatetimeIndex:
    """``count`` consecutive UTC minutes from unix minute ``first``."""
    return pd.to_datetime((first + np.arange(count)) * MINUTE_MS, unit="ms", utc=True)
