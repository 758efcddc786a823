"""What each column of the dashboard's tables means: shown as the column's help."""

from __future__ import annotations

_GROUP = {
    "proxy": "The API proxy (Apigee proxy name).",
    "app": "The developer app that called (Apigee app name).",
    "client_id": "The app's API key (consumer key) as logged.",
    "endpoint": "Method and path template the requests matched.",
    "method": "HTTP method.",
    "requests": "Requests in the chosen time range.",
    "4xx %": "Share of requests answered 4xx (client errors), in percent.",
    "5xx %": "Share of requests answered 5xx (server errors), in percent.",
    "gateway 429": "Requests Apigee refused with 429 (SpikeArrest or Quota).",
    "backend 429": "429s the backend itself returned.",
    "rps p99": "Requests per second: the 99th percentile over the seconds with traffic.",
    "rps max": "Requests per second: the busiest second.",
    "rpm max": "Requests per minute: the busiest minute.",
    "p50 ms": "Median total latency (client to Apigee and back), in milliseconds.",
    "p95 ms": "95th percentile of total latency, in milliseconds.",
    "p99 ms": "99th percentile of total latency, in milliseconds.",
    "target p95 ms": "95th percentile of the backend's (target's) latency, in milliseconds.",
}
_ANOMALY = {
    "proxy": "The API proxy the anomaly is on.",
    "metric": "What moved: requests, error_rate (5xx share) or latency_p95.",
    "start": "First minute of the anomaly window (UTC).",
    "end": "Last minute of the anomaly window (UTC).",
    "minutes": "Length of the window in minutes.",
    "peak": "The metric's most extreme value in the window.",
    "baseline": "The metric's usual value at that time of day and week.",
    "score": "How far from usual (robust z-score); higher is stranger.",
    "severity": "low, medium or high, from the score and the window's length.",
    "driven by": "The apps whose traffic made the anomaly, with their share of it.",
}
_REJECTED = {
    "source": "The file the line came from.",
    "line": "Line number in that file.",
    "reason": "Why the line was not read as a record.",
    "text": "The start of the line as written.",
}
_RUN_CALLS = {
    "step": "The workflow step that made the call.",
    "method": "HTTP method of the operation.",
    "operation": "The API operation from the granted catalog.",
    "status": "HTTP status code the gateway answered (blank while running).",
    "state": "running, completed or failed.",
    "error": "Why the call failed, when it did.",
}
_RUNS = {
    "run": "The run's workflow id on Temporal.",
    "status": "RUNNING, COMPLETED, FAILED, TERMINATED, CANCELED or TIMED_OUT.",
    "draft": "The draft whose approved version ran.",
    "version": "The approved version that ran.",
    "requested by": "Who started the run.",
    "started": "When the run started (UTC).",
}
_REPORTS = {
    "report": "The report's name.",
    "next run": "The schedule's next run (UTC).",
    "last delivered": "When the newest delivered copy was written (UTC).",
    "files": "The files of the newest delivered copy.",
}
_ATTENTION = {
    "what": "What needs attention.",
    "where": "The proxy, app, draft or run it concerns.",
    "when": "When it happened or was made (UTC).",
    "page": "The page with the details.",
}
_STATUS = {
    "part": "The part of atc.",
    "state": "up, down or not configured.",
    "detail": "Address, what answered, or what to do.",
}
TABLES: dict[str, dict[str, str]] = {
    "groups": _GROUP,
    "anomalies": _ANOMALY,
    "rejected": _REJECTED,
    "run_calls": _RUN_CALLS,
    "runs": _RUNS,
    "reports": _REPORTS,
    "attention": _ATTENTION,
    "status": _STATUS,
}


def help_for(table: str, columns: list[str]) -> dict[str, str]:
    """The help text of each of ``columns`` in ``table`` (columns without one are left out)."""
    known = TABLES.get(table, {})
    return {c: known[c] for c in columns if c in known}
