"""Forecast part of the advice harness: MAE and p90 coverage per generated series case."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.eval_advice_series import CASES, generate
from copilot.throttling.forecast import forecast, seasonal_naive


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
                "methods": ", ".join(sorted(set(frame["method"]))),
            }
        )
    return pd.DataFrame(rows)


if __name__ == "__main__":
    table = evaluate()
    pd.set_option("display.width", 250)
    print(table.round(3).to_string(index=False))
    print("overall p90 coverage", round(table["p90 coverage"].mean(), 3))
