"""The report's sections, as plain data, from the analyze and suggest documents.

Nothing here formats or escapes: renderers (``html``, ``markdown``, ``csvs``)
escape every string that came from logs. ``summary`` is the small document kept
with each report so the next one can say what changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NEEDS_THROTTLING = "needs throttling next week"


@dataclass
class Table:
    """One table of the report: a title, headers and rows of plain values."""

    name: str
    title: str
    headers: list[str]
    rows: list[list[Any]]


@dataclass
class Report:
    """Everything a renderer shows, in order."""

    name: str
    period: dict[str, Any]
    tables: list[Table]
    series: dict[str, list[list[Any]]]
    drafts: list[dict[str, Any]]
    runs: list[dict[str, Any]] | None
    summary: dict[str, Any]
    narrative: dict[str, str] = field(default_factory=dict)

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


def summarize(analysis: dict[str, Any]) -> dict[str, Any]:
    """The numbers the next report compares against."""
    return {
        "time_range": analysis.get("time_range") or {},
        "records": analysis.get("records", 0),
        "proxies": {
            p["proxy"]: {
                "requests": p["requests"],
                "error_rate": _error_rate(p),
                "p95_ms": _p95(p),
            }
            for p in analysis.get("proxies", [])
        },
        "consumers": sorted(
            [c["proxy"], c["app"], c["client_id"]] for c in analysis.get("consumers", [])
        ),
        "endpoints": sorted(
            [e["proxy"], e["verb"], e["path"]] for e in analysis.get("endpoints", [])
        ),
    }


def build(
    name: str,
    analysis: dict[str, Any],
    suggest: dict[str, Any],
    series: dict[str, list[list[Any]]],
    previous: dict[str, Any] | None,
    drafts: list[dict[str, Any]],
    runs: list[dict[str, Any]] | None,
) -> Report:
    """The report's sections (``previous`` is the last report's summary, if any)."""
    summary = summarize(analysis)
    period = {
        **(analysis.get("time_range") or {}),
        "records": analysis.get("records", 0),
        "rejected": analysis.get("rejected", 0),
        "sources": list(analysis.get("sources", [])),
        "previous": (previous or {}).get("time_range"),
    }
    tables = [
        _proxies(analysis),
        _anomalies(analysis),
        *_changes(summary, previous),
        _suggestions(suggest),
        _flags(suggest),
        _drafts(drafts),
    ]
    return Report(name, period, tables, series, drafts, runs, summary)


def _error_rate(group: dict[str, Any]) -> float:
    rates = group.get("error_rates") or {}
    return round(float(rates.get("4xx", 0.0)) + float(rates.get("5xx", 0.0)), 4)


def _p95(group: dict[str, Any]) -> float | None:
    return ((group.get("latency_ms") or {}).get("total") or {}).get("p95")


def _proxies(analysis: dict[str, Any]) -> Table:
    rows = []
    for p in sorted(analysis.get("proxies", []), key=lambda p: -p["requests"]):
        errors, latency = p.get("errors", {}), (p.get("latency_ms") or {}).get("total") or {}
        rates = p.get("error_rates", {})
        rows.append(
            [p["proxy"], p["requests"], errors.get("4xx"), errors.get("5xx"),
             rates.get("4xx"), rates.get("5xx"), errors.get("gateway_429"),
             latency.get("p50"), latency.get("p95"), latency.get("p99")]
        )  # fmt: skip
    headers = ["proxy", "requests", "4xx", "5xx", "4xx rate", "5xx rate", "gateway 429",
               "p50 ms", "p95 ms", "p99 ms"]  # fmt: skip
    return Table("proxies", "Traffic, errors and latency per proxy", headers, rows)


def _anomalies(analysis: dict[str, Any]) -> Table:
    rows = []
    for a in analysis.get("anomalies", []):
        drivers = "; ".join(
            f"{d.get('app')} ({d.get('client_id')}) {100 * float(d.get('share') or 0):.0f}%"
            for d in a.get("drivers") or []
        )
        rows.append(
            [a.get("proxy"), a.get("metric"), a.get("start"), a.get("end"),
             a.get("peak_value"), a.get("baseline"), a.get("severity"), drivers]
        )  # fmt: skip
    headers = [
        "proxy",
        "metric",
        "start",
        "end",
        "peak",
        "baseline",
        "severity",
        "clients behind it",
    ]
    return Table("anomalies", "Anomalies and the clients behind them", headers, rows)


def _changes(summary: dict[str, Any], previous: dict[str, Any] | None) -> list[Table]:
    headers = ["proxy", "requests", "change", "error rate", "change (points)", "p95 ms", "change"]
    if previous is None:
        return [Table("changes", "Changes since the previous report (none yet)", headers, [])]
    rows = []
    before = previous.get("proxies", {})
    for proxy, now in summary["proxies"].items():
        old = before.get(proxy, {})
        rows.append(
            [proxy, now["requests"], _delta(now["requests"], old.get("requests"), relative=True),
             now["error_rate"], _delta(now["error_rate"], old.get("error_rate")),
             now["p95_ms"], _delta(now["p95_ms"], old.get("p95_ms"), relative=True)]
        )  # fmt: skip
    seen_consumers = {tuple(c) for c in previous.get("consumers", [])}
    seen_endpoints = {tuple(e) for e in previous.get("endpoints", [])}
    consumers = [list(c) for c in summary["consumers"] if tuple(c) not in seen_consumers]
    endpoints = [list(e) for e in summary["endpoints"] if tuple(e) not in seen_endpoints]
    return [
        Table("changes", "Changes since the previous report", headers, rows),
        Table("new_consumers", "New consumers", ["proxy", "app", "client id"], consumers),
        Table("new_endpoints", "New endpoints", ["proxy", "verb", "path"], endpoints),
    ]


def _delta(now: float | None, old: float | None, *, relative: bool = False) -> str:
    if old is None:
        return "new"
    if now is None:
        return "gone"
    if relative:
        return f"{100 * (now - old) / old:+.1f}%" if old else ("+0" if now == old else "new")
    return f"{100 * (now - old):+.2f}"


def _suggestions(suggest: dict[str, Any]) -> Table:
    rows = []
    for s in suggest.get("suggestions", []):
        replay = s.get("replay") or {}
        rows.append(
            [s.get("target"), s.get("policy"), s.get("value_text"), s.get("confidence"),
             s.get("status"), replay.get("requests_seen"), replay.get("rejected"),
             replay.get("legit_healthy_rejected"), replay.get("legit_healthy_rejected_share"),
             replay.get("within_rule")]
        )  # fmt: skip
    headers = ["target", "policy", "suggested", "confidence", "status", "replayed requests",
               "replay rejects", "legit rejects", "legit share", "within the 0.1% rule"]  # fmt: skip
    return Table("suggestions", "Throttling suggestions with their replay", headers, rows)


def _flags(suggest: dict[str, Any]) -> Table:
    rows = [
        [f.get("target"), f.get("kind"), f.get("forecast_peak_rpm"), f.get("forecast_p90_rpm"),
         f.get("probability"), f.get("against"), f.get("limit_rpm")]
        for f in suggest.get("findings", [])
        if f.get("finding") == NEEDS_THROTTLING
    ]  # fmt: skip
    headers = ["target", "kind", "forecast peak req/min (p50)", "p90 req/min",
               "P(peak > limit)", "against", "limit req/min"]  # fmt: skip
    return Table("needs_throttling", "Needs throttling next week", headers, rows)


def _drafts(drafts: list[dict[str, Any]]) -> Table:
    rows = [
        [d.get("id"), d.get("name") or "", d.get("request"), d.get("latest"), d.get("created_at")]
        for d in drafts
    ]
    headers = ["draft", "name", "request", "latest version", "created"]
    return Table("drafts", "Drafts waiting for review", headers, rows)
