"""Evaluation harness for atc's throttling advice (not timed; deterministic seeds).

    .venv/bin/python -m bench.eval_advice            # forecast + knees + abuse + retry storm
    .venv/bin/python -m bench.eval_advice --quick    # forecast table only

1. Forecast (``eval_advice_forecast``): generated hourly-peak series with known
   next weeks (growth +/-, seasonality change, holidays, a nightly batch, short
   history), 8 seeds each: MAE of the chosen method vs seasonal naive, the p50
   peak error, and the share of weeks whose true peak is at or under p90.
2. Knees and abuse: atc's own log generator (7 days, 300k rows, seed 11) with the
   orders backend's knee set from x0.5 to x2 of its legitimate peak; the whole
   ``suggest`` pipeline runs on the CSV. Per scenario: the knee point and
   bootstrap interval vs the truth, where the suggested orders SpikeArrest sits
   between the legitimate peak and the true knee (0 = at the peak, 1 = at the
   knee; both from ground truth: the peak is the busiest minute of orders
   requests outside the flash sale, ``legit_peak``), and abuse findings (true: the generator's scraper; false: anyone else
   — the nightly batch reconciler must not be).
3. A retry storm: the same logs with one catalog client retrying every 429 three
   times within 0.7 s; it must be reported as "retries without backoff", not abusive.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.eval_advice_forecast import evaluate  # noqa: E402
from copilot.logs.sample import iter_chunks, make_scenario  # noqa: E402
from copilot.logs.writers import write_records  # noqa: E402
from copilot.throttling.run import suggest_paths  # noqa: E402

ROWS, SEED = 300_000, 11
KNEE_OVER_PEAK = (0.5, 0.75, 1.0, 1.5, 1.75, 2.0)


def knee_rows(tmp: Path) -> pd.DataFrame:
    """One row per knee set at ``m`` x the orders backend's legitimate peak (measured).

    The peak is measured on the logs of the generator's default knee; the callers'
    arrivals do not depend on the knee, so it is the same peak in every scenario
    (each row re-measures it to show so).
    """
    base = make_scenario(days=7, seed=SEED, rows=ROWS)
    path = tmp / "knee-base.csv"
    write_records(iter_chunks(base), path)
    peak = legit_peak(pd.read_csv(path, dtype=str, keep_default_na=False), base)
    rows = []
    for m in KNEE_OVER_PEAK:
        backend = dataclasses.replace(base.backend, knee_rps=round(m * peak / 60, 4))
        scenario = dataclasses.replace(base, backend=backend)
        path = tmp / f"knee-{m}.csv"
        write_records(iter_chunks(scenario), path)
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        report = suggest_paths([path]).report
        rows.append(
            _judge(report, scenario, f"knee x{m:g} legit peak", legit_peak(frame, scenario))
        )
    return pd.DataFrame(rows)


def legit_peak(frame: pd.DataFrame, scenario) -> float:
    """Ground truth: the busiest calendar minute of orders requests outside the flash sale.

    Every orders caller is legitimate in the generator (the scraper is on catalog);
    the flash sale is an incident, not the demand a limit is sized for.
    """
    ts = frame["client_received_start_timestamp"].astype("int64")
    start, end = scenario.incident.window.ms()
    mine = (frame["apiproxy"] == "orders") & ~ts.between(start, end - 1)
    return float((ts[mine] // 60_000).value_counts().max())


def _judge(report, scenario, name: str, peak: float) -> dict:
    truth = scenario.backend.knee_rps * 60
    knee = next(k for k in report.knees if k.proxy == "orders")
    top = report.suggestion("spike_arrest", "orders")
    limit = float(top.value["per_minute"]) if top else float("nan")
    abusive = {a.app for a in report.abusive}
    true_app = scenario.abusive.developer_app
    return {
        "scenario": name,
        "true knee": round(truth, 1),
        "knee / peak": round(truth / peak, 2),
        "knee": None if knee.rpm is None else round(knee.rpm, 1),
        "knee 90% interval": None
        if knee.rpm_low is None
        else f"{knee.rpm_low:.1f}-{knee.rpm_high:.1f}",
        "knee error": None if knee.rpm is None else round(knee.rpm / truth - 1, 3),
        "observed max": round(knee.observed_max_rpm, 1),
        "found share": knee.found_share,
        "legit peak": peak,
        "limit": limit,
        # undefined when the knee sits at the peak (within 5 %): no room to place a limit in
        "limit position": round((limit - peak) / (truth - peak), 2)
        if abs(truth - peak) > 0.05 * peak
        else None,
        "true abuse": int(true_app in abusive),
        "false abuse": len(abusive - {true_app}),
        "retry storms": ", ".join(sorted({r.app for r in report.retry_storms})) or "-",
    }


def retry_storm_row(tmp: Path) -> dict:
    scenario = make_scenario(days=7, seed=SEED, rows=ROWS)
    path = tmp / "base.csv"
    write_records(iter_chunks(scenario), path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    fault = frame["ax_edge_execution_fault_code"].str.contains("SpikeArrest|Quota", regex=True)
    legit = (frame["client_id"] != "(not set)") & (
        frame["developer_app"] != scenario.abusive.developer_app
    )
    victim = frame[fault & (frame["apiproxy"] == "catalog") & legit]
    app = victim["developer_app"].value_counts().index[0]
    mine = victim[victim["developer_app"] == app]
    copies = []
    for delay in (100, 300, 700):  # three retries within 0.7 s, each refused again
        c = mine.copy()
        for col in ("client_received_start_timestamp", "client_sent_end_timestamp"):
            c[col] = (c[col].astype("int64") + delay).astype(str)
        copies.append(c)
    stormy = pd.concat([frame, *copies]).sort_values(
        "client_received_start_timestamp", key=lambda s: s.astype("int64"), kind="stable"
    )
    out = tmp / "storm.csv"
    stormy.to_csv(out, index=False)
    row = _judge(
        suggest_paths([out]).report, scenario, f"retry storm ({app})", legit_peak(frame, scenario)
    )
    row["storm named"] = int(app in row["retry storms"])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the forecast table only")
    parser.add_argument("--seeds", type=int, default=8)
    args = parser.parse_args()
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    table = evaluate(seeds=args.seeds)
    print("## Forecast: next week's peak (hourly busiest minute)\n")
    print(table.round(3).to_markdown(index=False) if _has_tabulate() else table.round(3))
    print(f"\noverall p90 coverage: {table['p90 coverage'].mean():.3f} (target 0.85-0.95)")
    if args.quick:
        return
    with tempfile.TemporaryDirectory() as tmp:
        knees = knee_rows(Path(tmp))
        storm = pd.DataFrame([retry_storm_row(Path(tmp))])
    print("\n## Knees, limit position and abuse (generated logs, whole pipeline)\n")
    both = pd.concat([knees, storm], ignore_index=True)
    print(both.to_markdown(index=False) if _has_tabulate() else both.to_string(index=False))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
