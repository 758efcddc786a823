"""Forecast part of the advice harness: MAE and p90 coverage per generated series case.

"flagged" is, over the weeks whose true peak rose 5 % or more over last week's, the share
flagged by the suggest run's own rule (``run.knee_flags``) against a knee put halfway
between last week's peak and next week's true one: a knee the growth will cross.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from bench.eval_advice_series import CASES, generate
from copilot.throttling.forecast import Forecast, forecast, seasonal_naive
from copilot.throttling.knee import Knee
from copilot.throttling.run import knee_flags


def _flagged(f: Forecast, peak: float) -> bool | None:
    """Whether a knee halfway to next week's true peak is flagged (None: no real rise)."""
    if peak < 1.05 * f.last_week_peak:
        return None
    rpm = (f.last_week_peak + peak) / 2
    knee = Knee(f.target, rpm, peak, None, 0.0, None, None, "harness", pd.DataFrame(), rpm, rpm)
    return bool(knee_flags(SimpleNamespace(knees={f.target: knee}), f.target, f))


def evaluate(seeds: int = 8) -> pd.DataFrame:
    """One row per case: means over ``seeds`` generated histories and their next weeks."""
    rows = []
    for case in CASES:
        out = []
        for seed in range(seeds):
            history, truth = generate(case, seed)
            f = forecast(history, case.name, "proxy")
            actual = truth.to_numpy()
            naive = seasonal_naive(history.to_numpy(), pd.DatetimeIndex(history.index), 168)
            peak = float(actual.max())
            out.append(
                {
                    "mae": float(np.mean(np.abs(f.values.to_numpy() - actual))),
                    "naive_mae": float(np.mean(np.abs(naive - actual))),
                    "peak_err": f.p50 / peak - 1.0,
                    "naive_peak_err": float(naive.max()) / peak - 1.0,
                    "covered": peak <= f.p90,
                    "method": f.method,
                    "flagged": _flagged(f, peak),
                }
            )
        frame = pd.DataFrame(out)
        rows.append(
            {
                "scenario": case.name,
                "days": case.days,
                "MAE": frame["mae"].mean(),
                "naive MAE": frame["naive_mae"].mean(),
                "peak err (p50)": frame["peak_err"].mean(),
                "|peak err| max": frame["peak_err"].abs().max(),
                "naive peak err": frame["naive_peak_err"].mean(),
                "p90 coverage": frame["covered"].mean(),
                "flagged": _share(frame["flagged"]),
                "methods": ", ".join(sorted(set(frame["method"]))),
            }
        )
    return pd.DataFrame(rows)


def _share(flags: pd.Series) -> str:
    """'k/n' over the weeks with a real rise, '-' without any."""
    rose = flags.dropna()
    return f"{int(rose.sum())}/{rose.size}" if rose.size else "-"


if __name__ == "__main__":
    table = evaluate()
    pd.set_option("display.width", 250)
    print(table.round(3).to_string(index=False))
    print("overall p90 coverage", round(table["p90 coverage"].mean(), 3))
