"""The Overview page's view model: what needs attention now, as one table and a few counts.

Each source adds rows (what, where, when, page): anomalies in the traffic,
throttling findings (abusive clients, capacity conflicts, suggested limits
that differ from the current ones, forecasts that need throttling), drafts
waiting for review, and failed runs.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from copilot.dashboard.fmt import policy_rate, rate, utc_time

COLUMNS = ["what", "where", "when", "page"]
_SEVERITY = {"high": 0, "medium": 1, "low": 2}
_METRIC = {"requests": "traffic spike", "error_rate": "5xx spike", "latency_p95": "latency spike"}
FAILED = {"FAILED", "TIMED_OUT", "TERMINATED"}


def _row(what: str, where: str, page: str, when: str = "") -> dict[str, str]:
    """One row of the attention table (``COLUMNS``)."""
    return {"what": what, "where": where, "when": when, "page": page}


def anomaly_rows(analysis: Any, limit: int = 10) -> list[dict[str, str]]:
    """The most severe anomaly windows, worst first."""
    ranked = sorted(analysis.anomalies, key=lambda a: (_SEVERITY.get(a.severity, 3), -a.score))
    return [
        _row(
            f"{a.severity} {_METRIC.get(a.metric, a.metric)} ({a.minutes} min)",
            a.proxy,
            "Traffic",
            utc_time(a.start),
        )
        for a in ranked[:limit]
    ]


def _current_rate(s: Any) -> str | None:
    value = None if s.current is None else s.current.value
    return policy_rate(value) if isinstance(value, str) else None


def throttling_rows(report: Any) -> list[dict[str, str]]:
    """Abusive clients, capacity conflicts, changed limits and forecasts that need throttling."""
    rows = [_row(f"abusive client {a.app}", a.proxy, "Throttling") for a in report.abusive]
    for s in report.suggestions:
        if s.conflict:
            rows.append(_row("capacity conflict", s.target, "Throttling"))
        now = _current_rate(s)
        suggested = policy_rate(s.value.get("rate")) if "rate" in s.value else s.value_text()
        if now and now != suggested:
            rows.append(_row(f"limit {now} → suggested {suggested}", s.target, "Throttling"))
    for f in report.flags:
        peak = rate(f.p90_rpm or f.peak_rpm)
        what = f"needs throttling next week: peak {peak} (p90) over {f.against} {rate(f.limit_rpm)}"
        rows.append(_row(what, f.target, "Throttling", "next week"))
    return rows


def draft_rows(drafts: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Drafts waiting for a review decision."""
    rows = []
    for d in (d for d in drafts if d.get("status") == "draft"):
        request = str(d.get("request") or "")[:60]
        what = f"draft waiting for review (version {d.get('latest')})"
        rows.append(_row(what, f"{d['id']}: {request}", "Drafts", utc_time(d.get("created_at"))))
    return rows


def failed_run_rows(runs: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Runs that failed, timed out or were terminated."""
    return [
        _row(
            f"run {r['status'].lower()}",
            f"{r['run_id']} (draft {r['draft_id']})",
            "Runs",
            utc_time(r.get("started")),
        )
        for r in runs
        if r.get("status") in FAILED
    ]


def attention_table(*groups: list[dict[str, str]]) -> pd.DataFrame:
    """Every row of every group, in the order given."""
    return pd.DataFrame([row for group in groups for row in group], columns=COLUMNS)
