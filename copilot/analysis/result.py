"""The result of an analysis: dataclasses, DataFrames for charts, JSON-ready dicts.

Group tables (``Analysis.tables``) are flat DataFrames, one row per group,
sorted by requests (most first), with these columns after the key columns:

- ``requests``, ``errors_4xx``, ``errors_5xx``, ``gateway_429``,
  ``backend_429`` and their shares ``error_rate`` (any status >= 400,
  gateway throttling included), ``rate_4xx``, ``rate_5xx``,
  ``rate_gateway_429``, ``rate_backend_429`` (see ``outcomes``);
- ``first``, ``last`` (second resolution), ``active_seconds``,
  ``rps_p50/p95/p99/max``, ``active_minutes``, ``rpm_p50/p95/p99/max`` over the
  seconds/minutes with traffic (see ``rates``);
- ``total_ms_p50/p95/p99`` and ``target_ms_p50/p95/p99`` (1 % relative error;
  NaN when no request had that time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from copilot.analysis.anomalies import Anomaly

KEYS = {
    "proxies": ("proxy",),
    "apps": ("app",),
    "clients": ("client_id",),
    "consumers": ("proxy", "app", "client_id"),
    "endpoints": ("proxy", "verb", "path"),
}
ERRORS = ("errors_4xx", "errors_5xx", "gateway_429", "backend_429")
_ERROR_NAMES = {"errors_4xx": "4xx", "errors_5xx": "5xx"}
_RATE_QS = ("p50", "p95", "p99", "max")
_LATENCY_QS = ("p50", "p95", "p99")


def _num(value) -> float | None:
    """A JSON-safe number: NaN/NA become None; rounded to 4 decimals."""
    if value is None or value is pd.NA:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    return round(value, 4)


def _iso(value) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).isoformat()


@dataclass(frozen=True)
class Rates:
    """Distribution of per-second (or per-minute) counts over active seconds (minutes)."""

    active: int
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def from_row(cls, row: dict, prefix: str, active: str) -> Rates:
        return cls(int(row[active]), *(float(row[f"{prefix}_{q}"]) for q in _RATE_QS))

    def to_dict(self) -> dict:
        return {"active": self.active, **{q: _num(getattr(self, q)) for q in _RATE_QS}}


@dataclass(frozen=True)
class Latency:
    """Latency quantiles (ms); None when no request had that time."""

    p50: float | None
    p95: float | None
    p99: float | None

    @classmethod
    def from_row(cls, row: dict, prefix: str) -> Latency:
        return cls(*(_num(row[f"{prefix}_{q}"]) for q in _LATENCY_QS))

    def to_dict(self) -> dict:
        return {q: getattr(self, q) for q in _LATENCY_QS}


@dataclass(frozen=True)
class GroupStats:
    """Statistics of one group (a proxy, app, client, consumer or endpoint)."""

    key: dict[str, str]
    requests: int
    errors_4xx: int
    errors_5xx: int
    gateway_429: int
    backend_429: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    per_second: Rates
    per_minute: Rates
    total_ms: Latency
    target_ms: Latency

    @classmethod
    def from_row(cls, row: dict, keys: tuple[str, ...]) -> GroupStats:
        return cls(
            key={k: str(row[k]) for k in keys},
            requests=int(row["requests"]),
            **{e: int(row[e]) for e in ERRORS},
            first=None if pd.isna(row["first"]) else pd.Timestamp(row["first"]),
            last=None if pd.isna(row["last"]) else pd.Timestamp(row["last"]),
            per_second=Rates.from_row(row, "rps", "active_seconds"),
            per_minute=Rates.from_row(row, "rpm", "active_minutes"),
            total_ms=Latency.from_row(row, "total_ms"),
            target_ms=Latency.from_row(row, "target_ms"),
        )

    def share(self, count: int) -> float:
        """``count`` as a share of this group's requests."""
        return count / self.requests if self.requests else 0.0

    @property
    def error_rate(self) -> float:
        """Share of requests with status >= 400, gateway throttling included."""
        return self.share(self.errors_4xx + self.errors_5xx + self.gateway_429)

    def to_dict(self) -> dict:
        counts = {_ERROR_NAMES.get(e, e): int(getattr(self, e)) for e in ERRORS}
        return {
            **self.key,
            "requests": self.requests,
            "errors": counts,
            "error_rates": {
                "any": _num(self.error_rate),
                **{name: _num(self.share(n)) for name, n in counts.items()},
            },
            "first": _iso(self.first),
            "last": _iso(self.last),
            "per_second": self.per_second.to_dict(),
            "per_minute": self.per_minute.to_dict(),
            "latency_ms": {"total": self.total_ms.to_dict(), "target": self.target_ms.to_dict()},
        }


@dataclass(frozen=True)
class TopConsumer:
    """An app among the busiest: volume, errors and peak rates."""

    app: str
    client_ids: tuple[str, ...]
    proxies: tuple[str, ...]
    requests: int
    share: float
    error_rate: float
    rate_5xx: float
    gateway_429: int
    peak_rps: float
    peak_rpm: float
    rps_p99: float

    def to_dict(self) -> dict:
        out = dict(self.__dict__)
        out["client_ids"] = list(self.client_ids)
        out["proxies"] = list(self.proxies)
        for key in ("share", "error_rate", "rate_5xx", "peak_rps", "peak_rpm", "rps_p99"):
            out[key] = _num(out[key])
        return out


@dataclass
class Analysis:
    """Everything the analysis found; ``to_dict`` gives JSON-ready data."""

    records: int
    skipped: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    tables: dict[str, pd.DataFrame]
    proxy_minutes: pd.DataFrame
    app_minutes: pd.DataFrame
    anomalies: list[Anomaly]
    top_consumers: list[TopConsumer]
    seasonality: str
    endpoint_overflow: bool = False
    # Per-second request counts (seconds with traffic), only with Analyzer(keep_seconds=True):
    # proxy_seconds (proxy, second, requests) and consumer_seconds (proxy, app, client_id, ...).
    proxy_seconds: pd.DataFrame | None = None
    consumer_seconds: pd.DataFrame | None = None
    # Requests per outcome class, how they were counted, and tables the logs cannot fill.
    status_classes: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)

    def groups(self, kind: str) -> list[GroupStats]:
        """One ``GroupStats`` per row of ``tables[kind]`` (most requests first)."""
        keys = KEYS[kind]
        return [GroupStats.from_row(row, keys) for row in self.tables[kind].to_dict("records")]

    @property
    def proxies(self) -> list[GroupStats]:
        return self.groups("proxies")

    @property
    def apps(self) -> list[GroupStats]:
        return self.groups("apps")

    @property
    def clients(self) -> list[GroupStats]:
        return self.groups("clients")

    @property
    def consumers(self) -> list[GroupStats]:
        return self.groups("consumers")

    @property
    def endpoints(self) -> list[GroupStats]:
        return self.groups("endpoints")

    def to_dict(self) -> dict:
        """JSON-ready data: counts, time range, groups, anomalies, top consumers."""
        return {
            "records": self.records,
            "skipped": self.skipped,
            "time_range": {"start": _iso(self.start), "end": _iso(self.end)},
            **{kind: [g.to_dict() for g in self.groups(kind)] for kind in KEYS},
            "top_consumers": [c.to_dict() for c in self.top_consumers],
            "anomalies": [a.to_dict() for a in self.anomalies],
            "baseline": {
                "seasonality": self.seasonality,
                "method": "seasonal median + 1.4826 x MAD, modified z-score > 3.5, rises only",
            },
            "endpoint_templates_capped": self.endpoint_overflow,
            "status_classes": dict(self.status_classes),
            "notes": list(self.notes),
            "unavailable": dict(self.unavailable),
        }
