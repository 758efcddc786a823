"""Forecast: the chosen method is never worse than seasonal naive in a week-ahead backtest,
a trend-aware method follows growth, and next week's peak carries an honest interval."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from copilot.throttling.forecast import (
    METHODS,
    Backtest,
    backtest,
    forecast,
    hourly_peaks,
    seasonal_naive,
)
from copilot.throttling.forecast_methods import ets_damped_add

START = pd.Timestamp("2026-11-16", tz="UTC")  # a Monday


def hourly(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.date_range(START, periods=values.size, freq="h"))


def noisy_daily(days: int, seed: int = 0, weekend_boost: float = 1.0) -> pd.Series:
    rng = np.random.default_rng(seed)
    hours = np.arange(days * 24)
    shape = 20 + 15 * np.sin((hours % 24) / 24 * 2 * np.pi)
    weekend = pd.date_range(START, periods=hours.size, freq="h").day_of_week >= 5
    shape = shape * np.where(weekend, weekend_boost, 1.0)
    return hourly(rng.poisson(shape).astype(float))


@pytest.mark.parametrize("days", [7, 10, 21])
def test_the_chosen_method_is_not_worse_than_seasonal_naive(days: int) -> None:
    f = forecast(noisy_daily(days, seed=days), "orders", "proxy")
    assert f.errors and f.naive_error is not None
    assert f.chosen_error <= f.naive_error
    assert f.method == min(f.errors, key=f.errors.get)


def test_a_seasonal_median_beats_naive_on_noisy_traffic() -> None:
    bt = backtest(noisy_daily(10, seed=4))
    assert bt.errors()["seasonal_median"] < bt.errors()["seasonal_naive"]
    assert "rolling origin" in bt.text


def test_every_method_forecasts_a_clean_season_exactly() -> None:
    day = np.r_[np.zeros(8), np.full(10, 30.0), np.zeros(6)]
    series = hourly(np.tile(day, 7))
    for name, method in METHODS.items():
        ahead = method(series.to_numpy(), pd.DatetimeIndex(series.index), 48)
        assert np.allclose(ahead, np.tile(day, 2), atol=1.0), name


def test_next_week_is_168_hours_after_the_history_with_its_peak() -> None:
    series = noisy_daily(7, seed=1)
    f = forecast(series, "catalog", "proxy")
    assert len(f.values) == 168 and f.values.index[0] == series.index[-1] + pd.Timedelta(hours=1)
    assert f.peak >= f.values.max() and f.peak_at == f.values.idxmax()  # hourly noise put back
    assert 0.5 < f.growth < 1.5


def test_too_little_history_is_said_and_still_forecast() -> None:
    f = forecast(noisy_daily(2), "fulfilment", "proxy")
    assert f.errors == {} and "too little history" in f.backtest
    assert len(f.values) == 168 and np.isfinite(f.values).all()
    assert f.interval is not None and f.interval.origins == 0
    assert f.p90 / f.p50 > 1.5  # wide by construction, not a pretended precision


def test_missing_hours_do_not_break_the_methods() -> None:
    series = noisy_daily(8, seed=2)
    series.iloc[100:130] = np.nan  # an excluded incident
    f = forecast(series, "orders", "proxy")
    assert np.isfinite(f.values).all() and f.chosen_error <= f.naive_error
    assert np.isfinite(ets_damped_add(series.to_numpy(), pd.DatetimeIndex(series.index), 24)).all()
    assert np.isfinite(seasonal_naive(series.to_numpy(), pd.DatetimeIndex(series.index), 24)).all()


def test_hourly_peaks_take_the_busiest_healthy_minute() -> None:
    first_minute = int(START.value // 60_000_000_000) + 30  # starts at 00:30
    counts = np.arange(120)  # 00:30 .. 02:29
    healthy = np.ones(120, dtype=bool)
    healthy[90:] = False  # 02:00 onwards excluded
    peaks = hourly_peaks(counts, healthy, first_minute)
    assert list(peaks.index.hour) == [0, 1, 2]
    assert peaks.iloc[0] == 29 and peaks.iloc[1] == 89 and np.isnan(peaks.iloc[2])


def test_on_generated_traffic_the_backtest_reports_both_errors(sample_run) -> None:
    for f in sample_run.report.forecasts:
        assert f.naive_error is not None and f.chosen_error <= f.naive_error
    beaten = [f for f in sample_run.report.forecasts if f.chosen_error < f.naive_error]
    assert len(beaten) >= len(sample_run.report.forecasts) - 1


def growing(days: int, rate: float, seed: int = 0) -> tuple[pd.Series, float]:
    """Busiest minute per hour of Poisson minutes growing ``rate`` a day; and next week's peak."""
    rng = np.random.default_rng(seed)
    minute = np.arange((days + 7) * 1440)
    hour = (minute % 1440) / 60
    lam = 20 * (1 + 0.8 * np.exp(-(((hour - 13) / 3.5) ** 2))) * (1 + rate) ** (minute / 1440)
    peaks = rng.poisson(lam).reshape(-1, 60).max(axis=1).astype(float)
    return hourly(peaks[: days * 24]), float(peaks[days * 24 :].max())


@pytest.mark.parametrize(("rate", "seed"), [(0.05, 1), (0.10, 2)])
def test_growth_is_carried_into_next_weeks_peak(rate: float, seed: int) -> None:
    history, truth = growing(21, rate, seed)
    f = forecast(history, "orders", "proxy")
    assert f.method not in ("seasonal_naive", "seasonal_median")  # a flat method cannot grow
    assert abs(f.p50 / truth - 1) <= 0.15
    assert f.p50 > 1.3 * f.last_week_peak  # a week of 5-10 %/day is +40-95 %
    assert f.p50 <= f.p90 <= f.p99


def test_the_backtest_is_a_week_ahead_from_several_origins_with_spread() -> None:
    bt = backtest(noisy_daily(21, seed=3))
    assert bt.horizon == 168 and bt.origins >= 3
    assert set(bt.errors()) == set(METHODS) and all(v >= 0 for v in bt.spread().values())
    assert "one week ahead" in bt.text


def test_short_history_says_so_and_widens_the_interval() -> None:
    short = forecast(noisy_daily(8, seed=5), "orders", "proxy")
    long = forecast(noisy_daily(21, seed=5), "orders", "proxy")
    assert "too little history for a week-ahead backtest" in short.backtest
    assert short.horizon < 168 and "widened" in short.interval.note
    assert short.interval.sigma > long.interval.sigma


def test_probability_of_crossing_follows_the_interval() -> None:
    history, _ = growing(21, 0.05, 4)
    f = forecast(history, "orders", "proxy")
    assert f.probability_above(f.p50) == pytest.approx(0.5, abs=0.01)
    assert f.probability_above(f.p90) == pytest.approx(0.1, abs=0.01)
    assert f.probability_above(0.5 * f.p50) > 0.9 > 0.01 > f.probability_above(3 * f.p99)


def shape_changed(days: int, changed_days: int, seed: int) -> tuple[pd.Series, np.ndarray]:
    """Poisson minutes peaking at 13:00 until ``changed_days`` ago, at 20:00 since, quieter
    weekends (0.6); and next week's hourly truth."""
    rng = np.random.default_rng(seed)
    minute = np.arange((days + 7) * 1440)
    hour = (minute % 1440) / 60
    weekend = (START + pd.to_timedelta(minute // 1440, unit="D")).day_of_week >= 5
    midday = 1 + 0.8 * np.exp(-(((hour - 13) / 3.5) ** 2))
    evening = 1 + 0.9 * np.exp(-(((hour - 20) / 2.5) ** 2))
    shape = np.where(minute // 1440 >= days - changed_days, evening, midday)
    lam = 20 * shape * np.where(weekend, 0.6, 1.0)
    peaks = rng.poisson(lam).reshape(-1, 60).max(axis=1).astype(float)
    return hourly(peaks[: days * 24]), peaks[days * 24 :]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_changed_daily_shape_is_followed_not_averaged_away(seed: int) -> None:
    # The seasonal median of the last weeks keeps the old shape; recent origins outweigh
    # the old ones, so the backtest picks a method that repeats the new shape.
    history, truth = shape_changed(28, 10, seed)
    f = forecast(history, "orders", "proxy")
    index = pd.DatetimeIndex(history.index)
    median = METHODS["seasonal_median"](history.to_numpy(), index, 168)
    mae = np.mean(np.abs(f.values.to_numpy() - truth))
    assert mae < 0.6 * np.mean(np.abs(median - truth))
    assert f.method != "seasonal_median" and "weighted to recent origins" in f.backtest


def test_recent_origins_weigh_more_in_the_backtest() -> None:
    bt = Backtest(168, 3, {"a": [1.0, 5.0, 5.0], "b": [2.0, 2.0, 2.0]}, ages=[0.0, 3.5, 7.0])
    assert bt.weights() == pytest.approx([1.0, 0.5, 0.25])
    assert bt.errors()["a"] == pytest.approx((1.0 + 2.5 + 1.25) / 1.75)
    assert bt.errors()["b"] == pytest.approx(2.0)
    assert bt.spread()["a"] == pytest.approx(np.std([1.0, 5.0, 5.0], ddof=1))


@pytest.mark.parametrize(("days", "loaded"), [(3, False), (8, True)])
def test_statsmodels_is_imported_only_for_a_series_long_enough_for_ets(
    days: int, loaded: bool
) -> None:
    # Importing statsmodels (with scipy.optimize/stats) costs about a second: a short
    # series, which the exponential smoothing cannot fit, must not pay for it.
    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from copilot.throttling.forecast import forecast\n"
        f"idx = pd.date_range('2026-11-16', periods={days} * 24, freq='h', tz='UTC')\n"
        "s = pd.Series(np.random.default_rng(0).poisson(20, idx.size).astype(float), index=idx)\n"
        "forecast(s, 'orders', 'proxy')\n"
        "print('statsmodels' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(loaded)
