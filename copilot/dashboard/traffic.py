"""View models of the Traffic page: plain DataFrames shaped for charts and tables.

Pages only render what these functions return, so the shaping is tested here
rather than through the UI.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from copilot.analysis import Analysis, GroupStats
from copilot.dashboard.fmt import RESOLUTIONS  # noqa: F401 - the pages read it here
from copilot.pipeline import AnalysisRun

_COUNTS = ["requests", "errors_4xx", "errors_5xx", "gateway_429", "backend_429"]


def summary(run: AnalysisRun, chosen: Sequence[str] | None = None) -> dict[str, object]:
    """Headline figures for the metric row; with ``chosen``, only those proxies count."""
    a = run.analysis
    proxies = [p for p in a.proxies if not chosen or p.key["proxy"] in chosen]
    requests = sum(p.requests for p in proxies)
    errors_5xx = sum(p.errors_5xx for p in proxies)
    throttled = sum(p.gateway_429 for p in proxies)
    return {
        "records": run.quarantine.records,
        "rejected": run.quarantine.rejected,
        "start": a.start,
        "end": a.end,
        "proxies": len(proxies),
        "apps": len(a.apps) if not chosen else _apps_on(a, chosen),
        "requests": requests,
        "rate_5xx": errors_5xx / requests if requests else 0.0,
        "gateway_429": throttled,
        "anomalies": sum(1 for x in a.anomalies if not chosen or x.proxy in chosen),
    }


def _apps_on(analysis: Analysis, chosen: Sequence[str]) -> int:
    consumers = analysis.tables["consumers"]
    return int(consumers.loc[consumers["proxy"].isin(list(chosen)), "app"].nunique())


def groups_on(analysis: Analysis, kind: str, chosen: Sequence[str] | None) -> list[GroupStats]:
    """Proxies, consumers (proxy, app, key) or endpoints, only on the ``chosen`` proxies."""
    return [g for g in analysis.groups(kind) if not chosen or g.key.get("proxy") in chosen]


def traffic_series(
    analysis: Analysis, proxies: Sequence[str] | None = None, resolution: str = "5min"
) -> pd.DataFrame:
    """Per-proxy counts per time bucket, with error shares and the worst minute's p95 latency."""
    frame = analysis.proxy_minutes
    if proxies:
        frame = frame[frame["proxy"].isin(list(proxies))]
    if frame.empty:
        return pd.DataFrame(columns=["time", "proxy", *_COUNTS, "rate_5xx", "rate_4xx", "p95_ms"])
    frame = frame.assign(
        proxy=frame["proxy"].astype(str), time=frame["minute"].dt.floor(resolution)
    )
    grouped = frame.groupby(["time", "proxy"], observed=True)
    out = grouped[_COUNTS].sum()
    # p95 of a bucket is not the mean of minute p95s; the worst minute is the honest summary.
    out["p95_ms"] = grouped["p95_ms"].max()
    out = out.reset_index()
    out["rate_5xx"] = out["errors_5xx"] / out["requests"].where(out["requests"] > 0)
    out["rate_4xx"] = out["errors_4xx"] / out["requests"].where(out["requests"] > 0)
    return out


def anomaly_table(analysis: Analysis, proxies: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per anomaly window, with the clients that drove it."""
    rows = [
        {
            "proxy": a.proxy,
            "metric": a.metric,
            "start": a.start,
            "end": a.end,
            "minutes": a.minutes,
            "peak": round(a.peak_value, 3),
            "baseline": round(a.baseline, 3),
            "score": round(a.score, 2),
            "severity": a.severity,
            "driven by": ", ".join(f"{d.app} ({d.share:.0%})" for d in a.drivers),
        }
        for a in analysis.anomalies
        if not proxies or a.proxy in proxies
    ]
    columns = [
        "proxy",
        "metric",
        "start",
        "end",
        "minutes",
        "peak",
        "baseline",
        "score",
        "severity",
        "driven by",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    # Typed even when empty, so charts know start/end are times.
    return frame.astype({"start": "datetime64[ms, UTC]", "end": "datetime64[ms, UTC]"})


def group_table(groups: Sequence[GroupStats]) -> pd.DataFrame:
    """A flat table of group statistics (one row per proxy/app/endpoint)."""
    rows = []
    for g in groups:
        rows.append(
            {
                **g.key,
                "requests": g.requests,
                "4xx %": 100 * g.share(g.errors_4xx),
                "5xx %": 100 * g.share(g.errors_5xx),
                "gateway 429": g.gateway_429,
                "backend 429": g.backend_429,
                "rps p99": g.per_second.p99,
                "rps max": g.per_second.max,
                "rpm max": g.per_minute.max,
                "p50 ms": g.total_ms.p50,
                "p95 ms": g.total_ms.p95,
                "p99 ms": g.total_ms.p99,
                "target p95 ms": g.target_ms.p95,
            }
        )
    return pd.DataFrame(rows).round(2)


def rejected_table(run: AnalysisRun) -> pd.DataFrame:
    """The first quarantined lines, for display."""
    columns = ["source", "line", "kind", "reason", "text"]
    return pd.DataFrame([s.to_dict() for s in run.quarantine.samples], columns=columns)


def rejected_kinds(run: AnalysisRun) -> str:
    """Rejected lines counted by kind of failure, most first (``bad_timestamp 3, ...``)."""
    return ", ".join(f"{kind} {n:,}" for kind, n in run.quarantine.kinds.most_common())
