"""Which clients are abusive: statistics must not be sized on them, limits must name them.

A consumer (proxy x app x client id) is *abusive* when at least two of four
signals agree, each relative to the other identified consumers of the same
proxy (its cohort), and one of them is about *behaviour* (``errors`` or
``throttled``): volume alone (``rate``, ``surge``) is what a busy but
well-behaved batch job or partner looks like.

- ``errors``: its 4xx share (gateway throttling apart) is at least 5 % and 3x
  the cohort's median — enumeration and scraping walk into 404s;
- ``rate``: its p99 requests per minute is at least 3x the cohort's median p99;
- ``throttled``: the gateway's SpikeArrest/Quota already refused 10 % or more of
  its attempts;
- ``surge``: it drove at least half of a request-surge anomaly on the proxy.

Anonymous traffic (client id ``(not set)``) cannot be named, so is never
abusive here; the proxy-level limit covers it.

A client that retries its refusals without backoff (``retries``) is refused
often and fast *because* it retries: for it ``throttled`` and ``rate`` are not
evidence, and it is reported as a retry storm instead, unless its 4xx and a
surge it drove still make two signals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from copilot.analysis import Analysis
from copilot.logs.schema import NOT_SET

MIN_REQUESTS = 50  # a consumer with fewer requests neither joins a cohort nor is judged


@dataclass(frozen=True)
class Abusive:
    """An abusive client and the evidence against it."""

    proxy: str
    app: str
    client_id: str
    requests: int
    signals: tuple[str, ...]
    reasons: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "proxy": self.proxy,
            "app": self.app,
            "client_id": self.client_id,
            "requests": self.requests,
            "signals": list(self.signals),
            "reasons": list(self.reasons),
        }


def find_abusive(
    analysis: Analysis, retrying: set[tuple[str, str, str]] | frozenset = frozenset()
) -> list[Abusive]:
    """Abusive consumers, busiest first (see module docstring).

    ``retrying``: (proxy, app, client id) of clients retrying without backoff."""
    consumers = analysis.tables["consumers"]
    if consumers.empty:
        return []
    frame = consumers.assign(
        proxy=consumers["proxy"].astype(str),
        app=consumers["app"].astype(str),
        client_id=consumers["client_id"].astype(str),
    )
    frame = frame[(frame["client_id"] != NOT_SET) & (frame["requests"] >= MIN_REQUESTS)]
    surges = _surge_drivers(analysis)
    found = []
    for proxy, rows in frame.groupby("proxy", sort=True):
        share_4xx = (rows["errors_4xx"] / rows["requests"]).to_numpy()
        p99 = rows["rpm_p99"].to_numpy(dtype=float)
        throttled = (rows["gateway_429"] / rows["requests"]).to_numpy()
        for i, row in enumerate(rows.itertuples(index=False)):
            others = np.arange(len(rows)) != i
            med_4xx = float(np.median(share_4xx[others])) if others.any() else 0.0
            med_p99 = float(np.median(p99[others])) if others.any() else 0.0
            signals, reasons = [], []
            if share_4xx[i] >= max(0.05, 3 * med_4xx):
                signals.append("errors")
                reasons.append(f"{share_4xx[i]:.1%} 4xx vs cohort median {med_4xx:.1%}")
            if others.any() and p99[i] >= max(3 * med_p99, 5.0):
                signals.append("rate")
                reasons.append(f"p99 {p99[i]:.0f} req/min vs cohort median {med_p99:.0f}")
            if throttled[i] >= 0.10:
                signals.append("throttled")
                reasons.append(f"{throttled[i]:.1%} of its attempts already refused by the gateway")
            surge = surges.get((str(proxy), row.app, row.client_id))
            if surge:
                signals.append("surge")
                reasons.append(surge)
            if (str(proxy), row.app, row.client_id) in retrying:
                kept = [k for k, s in enumerate(signals) if s not in ("throttled", "rate")]
                signals, reasons = [signals[k] for k in kept], [reasons[k] for k in kept]
            behaves_badly = "errors" in signals or "throttled" in signals
            if len(signals) >= 2 and behaves_badly:
                found.append(
                    Abusive(
                        str(proxy),
                        row.app,
                        row.client_id,
                        int(row.requests),
                        tuple(signals),
                        tuple(reasons),
                    )
                )
    return sorted(found, key=lambda a: (-a.requests, a.proxy, a.app))


def _surge_drivers(analysis: Analysis) -> dict[tuple[str, str, str], str]:
    out: dict[tuple[str, str, str], str] = {}
    for anomaly in analysis.anomalies:
        if anomaly.metric != "requests":
            continue
        for driver in anomaly.drivers:
            if driver.share >= 0.5:
                key = (anomaly.proxy, driver.app, driver.client_id)
                out.setdefault(
                    key,
                    f"drove {driver.share:.0%} of the request surge "
                    f"{anomaly.start:%Y-%m-%d %H:%M}-{anomaly.end:%H:%M} UTC",
                )
    return out


def abusive_parties(abusive: list[Abusive], parties: list[tuple[str, str]]) -> np.ndarray:
    """Boolean per party (app, client id): abusive on some proxy."""
    named = {(a.app, a.client_id) for a in abusive}
    return np.array([p in named for p in parties], dtype=bool)
