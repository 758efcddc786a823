"""Generated hourly-peak series with known futures, for the advice harness (eval_advice.py).

Per minute: Poisson arrivals at rate base x daily shape x weekday factor x
growth^(day) (x a holiday factor, x a changed shape late in the history);
per hour the busiest minute, like ``forecast.hourly_peaks``. The history is
``days`` days; the truth is the following week from the same process.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

START = pd.Timestamp("2026-11-02", tz="UTC")  # a Monday


@dataclass(frozen=True)
class SeriesCase:
    name: str
    days: int
    growth: float = 0.0  # per day
    base: float = 20.0  # req/min at the daily mean
    holiday: int | None = None  # day index (history or future) at 35 % of normal
    shape_change: bool = False  # the last 10 days peak in the evening, not midday
    nightly_batch: float = 0.0  # req/min of a 01:00-03:00 batch job


CASES = (
    SeriesCase("flat weekly", 21),
    SeriesCase("flat, one week of history", 7),
    SeriesCase("growth +5%/day", 21, growth=0.05),
    SeriesCase("growth +10%/day", 21, growth=0.10),
    SeriesCase("growth +7%/day, 10 days", 10, growth=0.07),
    SeriesCase("decline -3%/day", 21, growth=-0.03),
    SeriesCase("seasonality change", 28, shape_change=True),
    SeriesCase("holiday in history", 21, holiday=15),
    SeriesCase("holiday next week", 21, holiday=23),
    SeriesCase("nightly batch", 21, nightly_batch=45.0),
)


def minute_rates(case: SeriesCase, days: int) -> np.ndarray:
    minute = np.arange(days * 1440)
    day = minute // 1440
    hour = (minute % 1440) / 60.0
    midday = 1.0 + 0.8 * np.exp(-(((hour - 13.0) / 3.5) ** 2))
    evening = 1.0 + 0.9 * np.exp(-(((hour - 20.0) / 2.5) ** 2))
    shape = midday
    if case.shape_change:
        shape = np.where(day >= case.days - 10, evening, midday)
    weekday = (START + pd.to_timedelta(day, unit="D")).day_of_week.to_numpy()
    week = np.where(weekday >= 5, 0.6, 1.0)
    rate = case.base * shape * week * (1.0 + case.growth) ** (minute / 1440.0)
    if case.holiday is not None:
        rate = np.where(day == case.holiday, rate * 0.35, rate)
    if case.nightly_batch:
        rate = rate + np.where((hour >= 1) & (hour < 3), case.nightly_batch, 0.0)
    return rate


def generate(case: SeriesCase, seed: int) -> tuple[pd.Series, pd.Series]:
    """(history, next week's truth), hourly busiest minute."""
    total = case.days + 7
    rng = np.random.default_rng(np.random.SeedSequence([seed, total, zlib.crc32(case.name.encode())]))
    counts = rng.poisson(minute_rates(case, total)).astype(float)
    hourly = counts.reshape(total * 24, 60).max(axis=1)
    series = pd.Series(hourly, index=pd.date_range(START, periods=hourly.size, freq="h"))
    cut = case.days * 24
    return series.iloc[:cut], series.iloc[cut:]
