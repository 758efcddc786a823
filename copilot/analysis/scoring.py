"""Per-minute scores against the seasonal baseline, and flags.

Three metrics, each scored per group (proxy) and minute, rises only:

- ``requests`` per minute;
- ``error_rate``: the 5xx share of the minute's requests;
- ``latency_p95``: the minute's p95 total latency (minutes with at least
  ``min_requests`` requests), scored in log space because latency is skewed,
  and only as high as the score of its rolling 5-minute median: a p95 of a
  few requests is noisy, a slowdown lasts.

The *robust* score is the modified z-score of Iglewicz and Hoaglin,
``(value - median) / (1.4826 x MAD)`` against the slot's baseline
(``baseline.seasonal_baseline``). Counts also get a *count* score, the
Anscombe-transformed Poisson deviation ``2 (sqrt(k + 3/8) - sqrt(e + 3/8))`` of
the count ``k`` from its expectation ``e``: requests in the minute, or 5xx in
the ``error_window`` (5) minutes centred on it — errors are rare, so one
minute rarely holds enough of them to tell an incident from chance. The score
of a minute is the smaller of the two, so it is high only when the minute
itself is out of line *and* the count behind it is significant: a handful of
requests never looks like a surge or an incident. The expected 5xx share is the
larger of the slot's median share and the median over the slot's hours of each
hour's pooled share (5xx / requests in that hour): the median share of sparse
minutes is 0, and an incident confined to one day moves neither median.

A minute is flagged when its score exceeds ``threshold`` (3.5, docs/throttling.md,
'Health baseline'); a 5xx minute also needs ``min_errors``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from copilot.analysis.baseline import (
    choose_seasonality,
    minute_grid,
    minute_numbers,
    nanmedian_rows,
    seasonal_baseline,
    slots,
)

METRICS = ("requests", "error_rate", "latency_p95")


@dataclass(frozen=True)
class FlagRules:
    """Thresholds of ``flag_minutes``."""

    threshold: float = 3.5
    min_errors: int = 1  # 5xx in a minute before its share can be flagged
    error_window: int = 5  # minutes (centred) over which 5xx counts are tested
    min_requests: int = 3  # requests in a minute before its p95 can be flagged
    min_error_share: float = 0.005  # floor of the expected 5xx share's sd
    latency_rel_floor: float = 0.10  # floor of the latency scale (10 %)
    latency_window: int = 5  # minutes (centred) of the rolling median p95


class _Grid:
    """Rows of a long per-minute frame placed in a ``[groups, minutes]`` matrix."""

    def __init__(self, frame: pd.DataFrame, group: str, seasonality: str) -> None:
        self.codes, _ = pd.factorize(frame[group])
        minute = minute_numbers(frame["minute"])
        first = int(minute.min()) if minute.size else 0
        self.first = first
        self.seasonality = seasonality
        self.col = minute - first
        self.shape = (int(self.codes.max(initial=-1)) + 1, int(self.col.max(initial=-1)) + 1)
        self.slot = slots(minute_grid(first, self.shape[1]), seasonality)

    def matrix(self, values: np.ndarray) -> np.ndarray:
        out = np.full(self.shape, np.nan)
        out[self.codes, self.col] = values
        return out

    def rows(self, matrix: np.ndarray) -> np.ndarray:
        return matrix[self.codes, self.col]

    def baseline(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        median, sd = seasonal_baseline(self.matrix(values), self.slot)
        return self.rows(median), self.rows(sd)

    def rolling(self, values: np.ndarray, width: int) -> np.ndarray:
        """Per row: the sum of its group's values over the ``width`` minutes centred on it."""
        m = np.nan_to_num(self.matrix(values))
        cum = np.concatenate([np.zeros((m.shape[0], 1)), np.cumsum(m, axis=1)], axis=1)
        idx = np.arange(m.shape[1])
        lo = np.clip(idx - width // 2, 0, m.shape[1])
        hi = np.clip(idx + width // 2 + 1, 0, m.shape[1])
        return self.rows(cum[:, hi] - cum[:, lo])

    def rolling_median(self, values: np.ndarray, width: int) -> np.ndarray:
        """Per row: the median of its group's values over ``width`` minutes centred on it."""
        half = width // 2
        padded = np.pad(self.matrix(values), ((0, 0), (half, half)), constant_values=np.nan)
        windows = np.lib.stride_tricks.sliding_window_view(padded, width, axis=1)
        return self.rows(nanmedian_rows(windows.reshape(-1, width)).reshape(self.shape))

    def hourly_ratio(self, numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
        """Per row: the median over the slot's hours of each hour's pooled ratio.

        Each clock hour pools its minutes (sum / sum), which is stable even when
        minutes hold a few requests; the median over the hours of the same slot
        ignores an incident confined to one day.
        """
        hour = (self.first % 60 + np.arange(self.shape[1])) // 60  # clock hour of each column
        n_hours = int(hour[-1]) + 1 if hour.size else 0
        keys = (np.arange(self.shape[0])[:, None] * n_hours + hour[None, :]).ravel()
        size = self.shape[0] * n_hours

        def per_hour(values: np.ndarray) -> np.ndarray:
            weights = np.nan_to_num(self.matrix(values)).ravel()
            return np.bincount(keys, weights=weights, minlength=size).reshape(-1, n_hours)

        num, den = per_hour(numerator), per_hour(denominator)
        with np.errstate(all="ignore"):
            ratio = np.where(den > 0, num / den, np.nan)
        hour_starts = minute_grid(self.first - self.first % 60, n_hours * 60)[::60]
        median, _ = seasonal_baseline(ratio, slots(hour_starts, self.seasonality))
        return median[self.codes, hour[self.col]]


def count_score(k: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Anscombe deviation of Poisson counts ``k`` from ``expected`` (~ N(0, 1))."""
    return 2.0 * (np.sqrt(k + 0.375) - np.sqrt(np.maximum(expected, 0.0) + 0.375))


def _robust(value, median, sd, floor) -> np.ndarray:
    with np.errstate(all="ignore"):
        return (value - median) / np.fmax(sd, floor)


def _requests(frame: pd.DataFrame, grid: _Grid, rules: FlagRules):
    value = frame["requests"].to_numpy(dtype=np.float64)
    median, sd = grid.baseline(value)
    robust = _robust(value, median, sd, 1.0)
    return value, median, np.fmin(robust, count_score(value, median)), np.ones(value.size, bool)


def _error_rate(frame: pd.DataFrame, grid: _Grid, rules: FlagRules):
    requests = frame["requests"].to_numpy(dtype=np.float64)
    errors = frame["errors_5xx"].to_numpy(dtype=np.float64)
    with np.errstate(all="ignore"):
        value = np.where(requests > 0, errors / requests, np.nan)
    median, sd = grid.baseline(value)
    expected = np.fmax(np.nan_to_num(median), np.nan_to_num(grid.hourly_ratio(errors, requests)))
    p = np.clip(expected, rules.min_error_share, 0.5)
    floor = np.sqrt(p * (1 - p) / np.maximum(requests, 1.0))
    window = rules.error_window
    counted = count_score(grid.rolling(errors, window), grid.rolling(expected * requests, window))
    score = np.fmin(_robust(value, median, sd, floor), counted)
    return value, median, score, errors >= rules.min_errors


def _latency(frame: pd.DataFrame, grid: _Grid, rules: FlagRules):
    requests = frame["requests"].to_numpy(dtype=np.float64)
    p95 = frame["p95_ms"].to_numpy(dtype=np.float64)
    value = np.where(requests >= rules.min_requests, p95, np.nan)
    with np.errstate(all="ignore"):
        logs = np.log(np.maximum(value, 1e-3))
    floor = np.log1p(rules.latency_rel_floor)
    median, sd = grid.baseline(logs)
    smooth = grid.rolling_median(logs, rules.latency_window)
    smooth_median, smooth_sd = grid.baseline(smooth)
    score = np.fmin(
        _robust(logs, median, sd, floor), _robust(smooth, smooth_median, smooth_sd, floor)
    )
    return value, np.exp(median), score, ~np.isnan(value)


_SCORERS = {"requests": _requests, "error_rate": _error_rate, "latency_p95": _latency}


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
    index: ``group``, ``minute``, ``value``, ``baseline`` (the slot median),
    ``score`` and ``flagged``; ``.attrs["seasonality"]`` names the slots used.
    """
    if metric not in _SCORERS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {METRICS}")
    seasonality = seasonality or choose_seasonality(frame["minute"])
    grid = _Grid(frame, group, seasonality)
    value, baseline, score, eligible = _SCORERS[metric](frame, grid, rules)
    flagged = eligible & (np.nan_to_num(score, nan=-np.inf) > rules.threshold)
    out = pd.DataFrame(
        {
            group: frame[group],
            "minute": frame["minute"],
            "value": value,
            "baseline": baseline,
            "score": score,
            "flagged": flagged,
        },
        index=frame.index,
    )
    out.attrs["seasonality"] = seasonality
    return out
