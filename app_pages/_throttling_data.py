"""Cached calls into copilot.throttling for the Throttling page (no business logic here)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app_pages._data import file_stamp
from copilot.errors import AtcError
from copilot.logs.reader import ReadOptions
from copilot.throttling.run import SuggestRun, suggest_paths


@st.cache_data(show_spinner="Reading logs, replaying limits, forecasting…", max_entries=8)
def _suggest(
    stamped: tuple[tuple[str, float, int], ...],
    fmt: str | None,
    headroom: float,
    bundle: tuple[tuple[str, float, int], ...],
) -> SuggestRun:
    return suggest_paths(
        [p for p, _, _ in stamped],
        ReadOptions(fmt=fmt),
        headroom=headroom,
        bundles=[p for p, _, _ in bundle],
    )


def suggestions_for(
    paths: tuple[str, ...], fmt: str | None, headroom: float, bundle: str | None
) -> SuggestRun | None:
    """The advice for ``paths`` (cached on paths, mtimes, sizes and options), or None."""
    if not paths:
        st.info("Choose a log source in the sidebar.")
        return None
    bundle_paths = (bundle,) if bundle and Path(bundle).exists() else ()
    if bundle and not bundle_paths:
        st.error(f"BundleError: {bundle}: no such file or directory")
        return None
    try:
        return _suggest(file_stamp(paths), fmt, headroom, file_stamp(bundle_paths))
    except AtcError as exc:
        st.error(exc.line())
        return None


def forecast_intervals(report) -> pd.DataFrame:
    """Next week's peak per series: p50/p90/p99, the backtest, and what it is flagged against."""
    rows = []
    for f in report.forecasts:
        mine = [x for x in report.flags if x.about(f.kind, f.target)]
        rows.append(
            {
                "kind": f.kind,
                "target": f.target,
                "p50": round(f.p50, 1),
                "p90": round(f.p90, 1),
                "p99": round(f.p99, 1),
                "backtest": f"{f.origins} origin(s) x {f.horizon} h",
                "flag": "; ".join(
                    f"{x.against} {x.limit_rpm:.0f} (P={x.probability or 0:.0%})" for x in mine
                ),
            }
        )
    return pd.DataFrame(rows, columns=["kind", "target", "p50", "p90", "p99", "backtest", "flag"])


def forecast_band(report, label: str) -> pd.DataFrame:
    """``start, end, p50, p90, p99`` over next week for one forecast label (``kind: target``)."""
    kind, _, target = label.partition(": ")
    f = next((x for x in report.forecasts if x.kind == kind and x.target == target), None)
    if f is None or not len(f.values):
        return pd.DataFrame(columns=["start", "end", "p50", "p90", "p99"])
    return pd.DataFrame(
        [{"start": f.values.index[0], "end": f.values.index[-1], "p50": f.p50, "p90": f.p90,
          "p99": f.p99}]
    )  # fmt: skip


def retry_storms(report) -> pd.DataFrame:
    cols = ["proxy", "app", "attempts", "demand", "refusal share", "retry share", "advice"]
    rows = [
        {
            "proxy": r.proxy,
            "app": r.app,
            "attempts": r.attempts,
            "demand": r.demand,
            "refusal share": round(r.refusal_share, 3),
            "retry share": round(r.retry_share, 3),
            "advice": r.advice,
        }
        for r in report.retry_storms
    ]
    return pd.DataFrame(rows, columns=cols)
