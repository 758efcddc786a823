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
    "kind": "The kind of failure, a stable code (the counts group by it).",
    "reason": "Why the line was not read as a record: the kind and the offending value.",
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
SUGGESTION_COLUMNS = {
    "target": "The proxy, or proxy · app; 'every client' is the default for apps without their own.",
    "policy": "SpikeArrest (a rate) or Quota (a count per interval).",
    "current": "The limit in force now (see the note under the table).",
    "suggested": "The limit to set: a rate per minute or second, or a count per interval.",
    "confidence": "high, medium or low: how much data and how good a forecast stand behind it.",
    "status": "ok; capacity conflict (the backend cannot take the demand); abusive client; "
    "or sized from similar apps (too little traffic of its own).",
    "replay rejects": "Requests the suggested limit would have refused over the logs.",
    "legit rejected": "Share of healthy legitimate requests the replay refused (rule: at most 0.1%).",
    "abusive rejected": "Requests from abusive clients the replay refused.",
    "busiest minute": "Legitimate demand in its busiest minute (a grey None: not measured for this row).",
    "p99 minute": "Legitimate demand per minute, 99th percentile over the minutes with traffic "
    "(a grey None: not measured for this row).",
    "days seen": "Days of the logs with traffic for this target (a grey None: not measured).",
    "rationale": "Why this value, in the words of the advice.",
}

FORECAST_COLUMNS = {
    "series": "A proxy, or one of the busiest apps (across its proxies).",
    "last week": "The busiest minute of the last week in the logs (legitimate, healthy).",
    "next week peak": "Next week's forecast peak: the number the advice multiplies by the headroom.",
    "p50": "Next week's busiest minute: as likely below as above this.",
    "p90": "Next week's busiest minute: 9 in 10 weeks stay below this.",
    "p99": "Next week's busiest minute: 99 in 100 weeks stay below this.",
    "method": "The forecasting method that won the week-ahead backtest.",
    "backtest": "How the method was checked: forecast origins and hours ahead.",
    "finding": "Whether the p90 passes the knee's lower bound or the current limit, "
    "or runs past the highest load seen with no knee found (capacity unknown).",
}

REPLAY_COLUMNS = {
    "policy": "Bundle and policy name.",
    "proxy": "The proxy whose traffic it was replayed on.",
    "kind": "SpikeArrest or Quota.",
    "value": "The limit as the bundle sets it.",
    "replayed": "Requests replayed through it (its conditions known to hold).",
    "not replayed": "Requests whose conditions the logs cannot decide (a header the logs lack).",
    "rejected": "Requests it would have refused in the replay.",
    "legit rejected": "Share of healthy legitimate requests it refused (rule: at most 0.1%).",
    "notes": "What the replay assumed.",
}

STORM_COLUMNS = {
    "proxy": "The API proxy.",
    "app": "The developer app retrying.",
    "attempts": "Every request it sent, retries included.",
    "refused": "Requests refused with 429.",
    "real demand": "Its requests with the retries of one request counted once.",
    "busiest minute (attempts)": "Its busiest minute counting every attempt.",
    "busiest minute (demand)": "Its busiest minute counting each request once.",
    "median wait after a refusal": "Median time from a refusal to its next attempt.",
    "advice": "What to tell the app's owner.",
}

EXCLUDED_COLUMNS = {
    "proxy": "The API proxy.",
    "kind": "What made the window unhealthy or abnormal.",
    "from": "First minute of the window (UTC).",
    "until": "End of the window (UTC; the minute itself is not in it).",
    "minutes": "Length of the window in minutes.",
    "requests": "Requests in the window.",
    "reason": "Why it was left out of the statistics.",
}
# Numeric columns and how they are written (printf style, as st.column_config.NumberColumn
# takes it): the values stay numbers, so the columns sort as numbers, not as text.
PER_MINUTE = "%g/min"
NUMBER_FORMATS: dict[str, dict[str, str]] = {
    "suggestions": {"busiest minute": PER_MINUTE, "p99 minute": PER_MINUTE, "days seen": "%d"},
    "forecast": {c: PER_MINUTE for c in ("last week", "next week peak", "p50", "p90", "p99")},
    "retry_storms": {
        "busiest minute (attempts)": PER_MINUTE,
        "busiest minute (demand)": PER_MINUTE,
        "median wait after a refusal": "%g s",
    },
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
    "suggestions": SUGGESTION_COLUMNS,
    "forecast": FORECAST_COLUMNS,
    "current_replays": REPLAY_COLUMNS,
    "retry_storms": STORM_COLUMNS,
    "excluded": EXCLUDED_COLUMNS,
    "evidence": {"what": "What was measured or decided.", "value": "Its value, with its unit."},
}


def number_format(table: str, column: str) -> str | None:
    """The printf format of a numeric column of ``table`` (None: not one of them)."""
    return NUMBER_FORMATS.get(table, {}).get(column)


def help_for(table: str, columns: list[str]) -> dict[str, str]:
    """The help text of each of ``columns`` in ``table`` (columns without one are left out)."""
    known = TABLES.get(table, {})
    return {c: known[c] for c in columns if c in known}
