"""The canonical record schema: the one shape every log format is read into.

Every reader yields pandas DataFrames ("chunks") with exactly these columns, in
this order, with these dtypes. Field names on the right are Apigee's analytics
names (cloud.google.com/apigee/docs/api-platform/analytics/analytics-reference);
MessageLogging flow variables map onto the same columns.

Conventions
- ``ts`` is the time the gateway received the request
  (``client_received_start_timestamp``), UTC, millisecond resolution.
- Only ``ts`` and ``proxy`` are required. ``verb``, ``path`` and ``status``
  are null when the log does not carry them (a MessageLogging template is the
  team's choice: Google's own ``cloud-logging`` sample logs no path).
- Apigee writes ``(not set)`` for dimensions it does not know (no verified key
  or token): missing app, client id, product and developer are ``(not set)``.
- ``target_status`` is null when the target was never reached (policy fault,
  cache hit); ``target_ms`` is null likewise.
- ``path`` is the request path without the query string; ``pathsuffix`` is the
  part after the proxy base path (what API product resources match).
- ``fault_policy``/``fault_code`` hold ``ax_execution_fault_policy_name`` and
  ``ax_edge_execution_fault_code`` (e.g. ``policies.ratelimit.SpikeArrestViolation``),
  empty string when there was no fault.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

NOT_SET = "(not set)"


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, pandas dtype, Apigee source and meaning."""

    name: str
    dtype: str
    source: str
    description: str
    required: bool = False


COLUMNS: tuple[Column, ...] = (
    Column(
        "ts",
        "datetime64[ms, UTC]",
        "client_received_start_timestamp",
        "request received (UTC)",
        True,
    ),
    Column("organization", "category", "organization", "Apigee organization"),
    Column("environment", "category", "environment", "Apigee environment"),
    Column("proxy", "category", "apiproxy", "API proxy name", True),
    Column("basepath", "category", "proxy_basepath", "proxy base path"),
    Column("pathsuffix", "string", "proxy_pathsuffix", "path after the base path"),
    Column("api_product", "category", "api_product", "API product, or (not set)"),
    Column("app", "category", "developer_app", "developer app, or (not set)"),
    Column("client_id", "category", "client_id", "consumer key, or (not set)"),
    Column("verb", "category", "request_verb", "HTTP method, upper case; null if not logged"),
    Column(
        "path",
        "string",
        "request_path (request_uri without query)",
        "request path; null if not logged",
    ),
    Column("status", "Int16", "response_status_code", "status the client got; null if not logged"),
    Column(
        "target_status",
        "Int16",
        "target_response_code",
        "status from the target; null if not reached",
    ),
    Column("total_ms", "float32", "total_response_time", "time in Apigee, target included (ms)"),
    Column("target_ms", "float32", "target_response_time", "target time (ms); null if not reached"),
    Column(
        "request_ms", "float32", "request_processing_latency", "request processing in Apigee (ms)"
    ),
    Column("client_ip", "string", "client_ip / x_forwarded_for_ip", "client address"),
    Column("useragent", "string", "useragent", "User-Agent header (untrusted text)"),
    Column(
        "fault_policy", "category", "ax_execution_fault_policy_name", "policy that faulted, or ''"
    ),
    Column("fault_code", "category", "ax_edge_execution_fault_code", "fault code, or ''"),
    Column("is_error", "bool", "is_error", "Apigee's is_error flag (or status >= 400)"),
)

NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
DTYPES: dict[str, str] = {c.name: c.dtype for c in COLUMNS}
REQUIRED: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required)
# Columns that stay null (never a made-up default) when a log does not carry them:
# the analysis then says what it could not compute (e.g. no endpoints without paths).
NULLABLE: tuple[str, ...] = ("verb", "path", "status")

# Fault codes of the gateway's own throttling policies
# (docs/apigee.md, 'Throttling policies').
SPIKE_ARREST_FAULT = "policies.ratelimit.SpikeArrestViolation"
QUOTA_FAULT = "policies.ratelimit.QuotaViolation"
GATEWAY_THROTTLE_FAULTS = (SPIKE_ARREST_FAULT, QUOTA_FAULT)

_DEFAULTS: dict[str, object] = {
    "organization": "",
    "environment": "",
    "basepath": "",
    "pathsuffix": "",
    "api_product": NOT_SET,
    "app": NOT_SET,
    "client_id": NOT_SET,
    "client_ip": "",
    "useragent": "",
    "fault_policy": "",
    "fault_code": "",
}


def empty_frame() -> pd.DataFrame:
    """A canonical frame with no rows."""
    return conform(pd.DataFrame({name: pd.Series([], dtype="object") for name in NAMES}))


def conform(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with exactly the canonical columns, order and dtypes.

    Missing optional columns get their default; ``is_error`` defaults to
    ``status >= 400``. Values must already be clean (readers validate and
    quarantine before calling this).
    """
    out = pd.DataFrame(index=df.index)
    for col in COLUMNS:
        if col.name in df.columns:
            series = df[col.name]
        elif col.name == "is_error":
            status = pd.to_numeric(df["status"]) if "status" in df.columns else None
            flag = False if status is None else (status >= 400).fillna(False).astype(bool)
            series = pd.Series(flag, index=df.index)
        elif col.name in _DEFAULTS:
            series = pd.Series(_DEFAULTS[col.name], index=df.index)
        else:
            series = pd.Series(pd.NA, index=df.index)
        out[col.name] = _cast(series, col.dtype)
    return out


def _cast(series: pd.Series, dtype: str) -> pd.Series:
    if dtype.startswith("datetime64"):
        if not isinstance(series.dtype, pd.DatetimeTZDtype):
            series = pd.to_datetime(series, utc=True)
        return series.astype(dtype)
    if dtype == "category" and isinstance(series.dtype, pd.CategoricalDtype):
        return series
    if dtype in ("float32", "Int16") and series.dtype == object:
        series = pd.to_numeric(series, errors="raise")
    return series.astype(dtype)


def concat(chunks: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate canonical chunks, keeping categorical columns categorical."""
    if not chunks:
        return empty_frame()
    if len(chunks) == 1:
        return chunks[0].reset_index(drop=True)
    cats = [c.name for c in COLUMNS if c.dtype == "category"]
    union: dict[str, list[str]] = {}
    for name in cats:
        values: set[str] = set()
        for chunk in chunks:
            values.update(map(str, chunk[name].cat.categories))
        union[name] = sorted(values)
    aligned = []
    for chunk in chunks:
        chunk = chunk.copy()
        for name in cats:
            chunk[name] = chunk[name].cat.set_categories(union[name])
        aligned.append(chunk)
    return pd.concat(aligned, ignore_index=True)
