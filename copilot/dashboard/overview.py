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


def anomaly_rows(analysis: Any, limit: int = 10) -> list[dict[str, str]]:
    """The most severe anomaly windows, worst first."""
    ranked = sorted(analysis.anomalies, key=lambda a: (_SEVERITY.get(a.severity, 3), -a.score))
    return [
        {
            "what": f"{a.severity} {_METRIC.get(a.metric, a.metric)} ({a.minutes} min)",
            "where": a.proxy,
            "when": utc_time(a.start),
            "page": "Traffic",
        }
        for a in ranked[:limit]
    ]


def _current_rate(s: Any) -> str | None:
    value = None if s.current is None else s.current.value
    return policy_rate(value) if isinstance(value, str) else None


def throttling_rows(report: Any) -> list[dict[str, str]]:
    """Abusive clients, capacity conflicts, changed limits and forecasts that need throttling."""
    rows = [
        {"what": f"abusive client {a.app}", "where": a.proxy, "when": "", "page": "Throttling"}
        for a in report.abusive
    ]
    for s in report.suggestions:
        if s.conflict:
            rows.append(
                {"what": "capacity conflict", "where": s.target, "when": "", "page": "Throttling"}
            )
        now = _current_rate(s)
        suggested = policy_rate(s.value.get("rate")) if "rate" in s.value else s.value_text()
        if now and now != suggested:
            rows.append({"what": f"limit {now} → suggested {suggested}", "where": s.target,
                         "when": "", "page": "Throttling"})  # fmt: skip
    for f in report.flags:
        rows.append(
            {
                "what": f"needs throttling next week: peak {rate(f.p90_rpm or f.peak_rpm)} (p90) "
                f"over {f.against} {rate(f.limit_rpm)}",
                "where": f.target,
                "when": "next week",
                "page": "Throttling",
            }
        )
    return rows


def draft_rows(drafts: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Drafts waiting for a review decision."""
    return [
        {
            "what": f"draft waiting for review (version {d.get('latest')})",
            "where": f"{d['id']}: {str(d.get('request') or '')[:60]}",
            "when": utc_time(d.get("created_at")),
            "page": "Drafts",
        }
        for d in drafts
        if d.get("status") == "draft"
    ]


def failed_run_rows(runs: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Runs that failed, timed out or were terminated."""
    return [
        {
            "what": f"run {r['status'].lower()}",
            "where": f"{r['run_id']} (draft {r['draft_id']})",
            "when": utc_time(r.get("started")),
            "page": "Runs",
        }  # fmt: skip
        for r in runs
        if r.get("status") in FAILED
    ]


def attention_table(*groups: list[dict[str, str]]) -> pd.DataFrame:
    """Every row of every group, in the order given."""
    return pd.DataFrame([row for group in groups for row in group], columns=COLUMNS)
