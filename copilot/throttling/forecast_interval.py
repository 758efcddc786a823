"""The interval of next week's peak, from the backtest's own peak errors.

At each backtest origin the chosen method's forecast peak is compared with the
peak that followed: ``e = log((actual + 1) / (forecast + 1))``. Next week's
peak is taken as log-normal around the point peak: its median is shifted by
the errors' mean (shrunk towards 0 with few origins: ``mean x n / (n + 2)``),
its spread is the errors' standard deviation with a floor, ``SIGMA_FLOOR``,
because a handful of overlapping origins under-states how wrong next week can
be; with fewer than three origins the spread is the root mean square error
plus ``FEW_ORIGINS_SPREAD``. Both constants are calibrated conformal-style by
``bench/eval_advice_calibrate.py`` on its own seeds (100-131 of the harness's
generated series, never the seeds 0-7 the harness reports): the smallest pair
on a grid whose p90 bound covers at least 90 % of the calibration weeks. Then

- p50, p90, p99 = (median + 1) x exp(z x sigma) - 1, z = 0, 1.2816, 2.3263;
- the probability that the peak exceeds a limit L is
  1 - Phi((ln(L + 1) - ln(p50 + 1)) / sigma) (the same +1 as the errors).

A backtest shorter than a week widens sigma by sqrt(168 / horizon); without
any backtest sigma is ``SIGMA_UNKNOWN``. The p99 is the model's tail, not a
calibrated one: the harness checks p90 coverage only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SIGMA_FLOOR = 0.02  # calibrated: bench/eval_advice_calibrate.py
FEW_ORIGINS_SPREAD = 0.08  # calibrated: bench/eval_advice_calibrate.py
SIGMA_UNKNOWN = 0.5
MIN_SPREAD_ORIGINS = 3
Z90, Z99 = 1.2816, 2.3263
_WEEK = 168


@dataclass(frozen=True)
class PeakInterval:
    """Next week's peak in req/min: median, p90, p99, and the log spread behind them."""

    p50: float
    p90: float
    p99: float
    sigma: float
    origins: int
    note: str

    def probability_above(self, limit: float) -> float:
        """P(next week's peak > ``limit``) under the log-normal above."""
        if limit <= 0:
            return 1.0
        z = (math.log(limit + 1.0) - math.log(self.p50 + 1.0)) / max(self.sigma, 1e-9)
        return 0.5 * math.erfc(z / math.sqrt(2.0))

    def to_dict(self) -> dict:
        return {
            "p50": round(self.p50, 2),
            "p90": round(self.p90, 2),
            "p99": round(self.p99, 2),
            "log_sigma": round(self.sigma, 4),
            "origins": self.origins,
            "note": self.note,
        }


def peak_interval(
    point: float,
    errors: list[float] | tuple[float, ...],
    horizon: int,
    floor: float = SIGMA_FLOOR,
    few: float = FEW_ORIGINS_SPREAD,
) -> PeakInterval:
    """The interval around ``point`` (the forecast path's peak) from backtest peak errors.

    ``floor`` and ``few`` default to the calibrated constants; the calibration passes others.
    """
    e = np.asarray(errors, dtype=float)
    e = e[np.isfinite(e)]
    n = e.size
    if n == 0 or horizon <= 0:
        sigma, shift = SIGMA_UNKNOWN, 0.0
        note = "no backtest: interval wide by construction"
    else:
        shift = float(e.mean()) * n / (n + 2)
        if n >= MIN_SPREAD_ORIGINS:
            sigma = math.sqrt(float(np.std(e, ddof=1)) ** 2 + floor**2)
            note = f"log-normal from {n} backtest peak errors, spread floored at {floor}"
        else:  # one or two errors say nothing of the spread
            sigma = math.sqrt(float(np.mean(e**2)) + few**2)
            note = f"only {n} backtest origin(s): spread assumed {few:.2f} plus the error"
        if horizon < _WEEK:
            sigma *= math.sqrt(_WEEK / horizon)
            note += f"; widened x{math.sqrt(_WEEK / horizon):.2f} (backtest {horizon} h ahead)"
    # the +1 of the error's definition is undone so a quiet series keeps a sane median
    median = max((point + 1.0) * math.exp(shift) - 1.0, 0.0)
    base = median + 1.0
    return PeakInterval(
        p50=median,
        p90=max(base * math.exp(Z90 * sigma) - 1.0, median),
        p99=max(base * math.exp(Z99 * sigma) - 1.0, median),
        sigma=sigma,
        origins=n,
        note=note,
    )
