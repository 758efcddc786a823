"""Healthy vs degraded time, and the windows excluded from the statistics.

Degraded minutes come from the analysis's robust seasonal baseline (same
slot median + 1.4826 x MAD, modified z-score > 3.5, docs/throttling.md,
'Health baseline'): its anomaly windows on ``error_rate`` (5xx share) and
``latency_p95``, whose hysteresis and minimum length keep a single noisy minute
out. Per proxy, those windows and the request surges that overlap them form
one *incident* window. A request surge driven mostly by an abusive client is
an *attack* window. Both are excluded from every statistic, forecast and the
0.1 % replay rule; the abusive clients' own requests are excluded everywhere
(their active spans are listed too, as ``abusive_client``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from copilot.analysis import Analysis, Anomaly
from copilot.throttling.abuse import Abusive
from copilot.throttling.collect import Requests
from copilot.throttling.tally import tally
from copilot.timeunits import MINUTE_MS

MERGE_GAP = pd.Timedelta(minutes=5)
ACTIVE_GAP_MIN = 15  # an abusive client's requests this close belong to one span
ACTIVE_MIN_MINUTES = 10
_DESCRIBE = {
    "error_rate": lambda a: f"5xx share {a.peak_value:.1%} vs baseline {a.baseline:.1%}",
    "latency_p95": lambda a: f"p95 latency {a.peak_value:,.0f} ms vs {a.baseline:,.0f} ms",
    "requests": lambda a: f"requests {a.peak_value:,.0f}/min vs {a.baseline:,.0f}/min",
}


@dataclass(frozen=True)
class ExcludedWindow:
    """A window left out of the statistics, and why (``end`` exclusive)."""

    proxy: str
    kind: str  # incident | attack | abusive_client
    start: pd.Timestamp
    end: pd.Timestamp
    reason: str
    requests: int
    app: str | None = None
    client_id: str | None = None

    @property
    def minutes(self) -> int:
        return int((self.end - self.start) / pd.Timedelta(minutes=1))

    def to_dict(self) -> dict:
        return {
            "proxy": self.proxy,
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "minutes": self.minutes,
            "requests": self.requests,
            "reason": self.reason,
            "app": self.app,
            "client_id": self.client_id,
        }


@dataclass
class Health:
    """Per proxy and minute: healthy or not; and the excluded windows."""

    first_minute: int  # unix minute of column 0
    healthy: np.ndarray  # bool [proxy id, minute]
    excluded: list[ExcludedWindow]

    def rows(self, req: Requests, idx: np.ndarray) -> np.ndarray:
        """Whether each request ``idx`` fell in a healthy minute of its proxy."""
        col = req.ts[idx] // MINUTE_MS - self.first_minute
        return self.healthy[req.proxy[idx], col]

    def sort(self) -> None:
        """Order the excluded windows by start, proxy and kind (ties: as added)."""
        self.excluded.sort(key=lambda w: (w.start, w.proxy, w.kind))


def assess(
    analysis: Analysis, proxies: list[str], span: tuple[int, int] | None, abusive: list[Abusive]
) -> Health:
    """Healthy minutes per proxy over ``span`` (first, last epoch ms) and the incident and
    attack windows (see module docstring); the abusive clients' own spans are added per
    proxy with :func:`abusive_spans`, then :meth:`Health.sort`."""
    first = int(span[0] // MINUTE_MS) if span else 0
    width = int(span[1] // MINUTE_MS) - first + 1 if span else 0
    healthy = np.ones((len(proxies), width), dtype=bool)
    counts = _proxy_requests(analysis)
    windows: list[ExcludedWindow] = []
    by_proxy: dict[str, list[Anomaly]] = {}
    for anomaly in analysis.anomalies:
        by_proxy.setdefault(anomaly.proxy, []).append(anomaly)
    named = {(a.app, a.client_id) for a in abusive}
    for proxy, found in sorted(by_proxy.items()):
        windows += _incidents(proxy, found, counts)
        windows += _attacks(proxy, found, named, counts)
    for window in windows:
        if window.proxy not in proxies:
            continue
        a = _minute(window.start) - first
        b = _minute(window.end) - first
        healthy[proxies.index(window.proxy), max(a, 0) : max(b, 0)] = False
    return Health(first, healthy, windows)


def _minute(stamp: pd.Timestamp) -> int:
    return int(pd.Timestamp(stamp).value // 1_000_000 // MINUTE_MS)


def _proxy_requests(analysis: Analysis) -> dict[str, pd.Series]:
    frame = analysis.proxy_minutes
    out = {}
    for proxy, rows in frame.groupby(frame["proxy"].astype(str), sort=False):
        out[str(proxy)] = pd.Series(rows["requests"].to_numpy(), index=rows["minute"].to_numpy())
    return out


def _count(counts: dict[str, pd.Series], proxy: str, start, end) -> int:
    series = counts.get(proxy)
    if series is None:
        return 0
    index = pd.DatetimeIndex(series.index)
    mask = (index >= start) & (index < end)
    return int(series.to_numpy()[mask].sum())


def _incidents(proxy: str, found: list[Anomaly], counts) -> list[ExcludedWindow]:
    degraded = sorted(
        (a for a in found if a.metric in ("error_rate", "latency_p95")), key=lambda a: a.start
    )
    spans: list[list] = []
    for a in degraded:
        if spans and a.start <= spans[-1][1] + MERGE_GAP:
            spans[-1][1] = max(spans[-1][1], a.end)
            spans[-1][2].append(a)
        else:
            spans.append([a.start, a.end, [a]])
    out = []
    for start, end, members in spans:
        for a in found:  # the surge that caused it belongs to the incident
            if a.metric == "requests" and a.start <= end + MERGE_GAP and a.end >= start - MERGE_GAP:
                start, end = min(start, a.start), max(end, a.end)
                members.append(a)
        worst = {}
        for a in members:
            if a.metric not in worst or a.score > worst[a.metric].score:
                worst[a.metric] = a
        reason = "; ".join(_DESCRIBE[m](a) for m, a in sorted(worst.items()))
        out.append(
            ExcludedWindow(proxy, "incident", start, end, reason, _count(counts, proxy, start, end))
        )
    return out


def _attacks(proxy: str, found: list[Anomaly], named: set, counts) -> list[ExcludedWindow]:
    out = []
    for a in found:
        if a.metric != "requests":
            continue
        lead = next((d for d in a.drivers if (d.app, d.client_id) in named), None)
        if lead is None or lead.share < 0.5:
            continue
        reason = (
            f"request surge driven by abusive client {lead.app} ({lead.share:.0%} of the excess); "
            + _DESCRIBE["requests"](a)
        )
        out.append(
            ExcludedWindow(
                proxy,
                "attack",
                a.start,
                a.end,
                reason,
                _count(counts, proxy, a.start, a.end),
                lead.app,
                lead.client_id,
            )
        )
    return out


def abusive_spans(req: Requests, abusive: list[Abusive]) -> list[ExcludedWindow]:
    """The active spans of the abusive clients that have requests in ``req``."""
    out = []
    for bad in abusive:
        pid = req.proxy_id(bad.proxy)
        if pid is None or (bad.app, bad.client_id) not in req.parties:
            continue
        party = req.parties.index((bad.app, bad.client_id))
        rows = np.flatnonzero((req.proxy == pid) & (req.party == party))
        if rows.size == 0:
            continue  # another proxy's share
        out += active_spans(bad, *tally(req.ts[rows] // MINUTE_MS))
    return out


def active_spans(bad: Abusive, active: np.ndarray, counts: np.ndarray) -> list[ExcludedWindow]:
    """An abusive client's active spans from its requests per minute (``active``: the
    minutes with requests, ascending; ``counts``: how many in each)."""
    out = []
    cuts = np.flatnonzero(np.diff(active) > ACTIVE_GAP_MIN) + 1
    for span, n in zip(np.split(active, cuts), np.split(counts, cuts), strict=True):
        if span[-1] - span[0] + 1 < ACTIVE_MIN_MINUTES:
            continue
        start = pd.Timestamp(int(span[0]) * MINUTE_MS, unit="ms", tz="UTC")
        end = pd.Timestamp((int(span[-1]) + 1) * MINUTE_MS, unit="ms", tz="UTC")
        out.append(
            ExcludedWindow(
                bad.proxy,
                "abusive_client",
                start,
                end,
                f"requests of abusive client {bad.app} left out of legitimate traffic",
                int(n.sum()),
                bad.app,
                bad.client_id,
            )
        )
    return out
