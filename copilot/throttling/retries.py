"""Retry storms: clients that answer a 429 by asking again at once.

A gateway refusal (SpikeArrest/Quota 429) followed by the same client's next
request within ``window_ms`` is a retry that did not wait (``demand.RETRY_MS``,
2 s, by default: Apigee's SpikeArrest and Quota send no ``Retry-After`` unless
the proxy adds one, so the window is what a client that backs off would at
least wait; pass the ``Retry-After`` the proxy sends when it does).

An identified client is reported as *retries without backoff* when it was
refused at least ``MIN_REFUSALS`` times and at least ``MIN_RETRY_SHARE`` of its
refusals were retried within the window. Its *demand* is its attempts with the
retries collapsed into the first (``demand.measure``); its *refusal share* is
refused attempts over attempts. Such a client is not abusive for being
refused or fast (``abuse.find_abusive`` drops those two signals for it): the
retries are what make it look so, and a tighter limit would only make it
retry harder. The advice is about its behaviour (honour ``Retry-After``, back
off exponentially with jitter) and the limit's ``Retry-After`` header; the
limits are sized on the collapsed demand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from copilot.logs.schema import NOT_SET
from copilot.throttling.collect import Requests
from copilot.throttling.demand import RETRY_MS, Demand

MIN_REFUSALS = 20
MIN_RETRY_SHARE = 0.5
MINUTE_MS = 60_000


@dataclass(frozen=True)
class RetryStorm:
    """A client retrying refused requests without backoff, and what it really wants."""

    proxy: str
    app: str
    client_id: str
    attempts: int
    refused: int
    retries: int  # refused-then-retried within the window
    demand: int  # attempts with retries collapsed
    demand_peak_rpm: int  # busiest minute of its collapsed demand
    attempts_peak_rpm: int  # busiest minute of its attempts
    median_gap_ms: float  # refusal -> next attempt
    window_ms: int

    @property
    def refusal_share(self) -> float:
        return self.refused / self.attempts if self.attempts else 0.0

    @property
    def retry_share(self) -> float:
        return self.retries / self.refused if self.refused else 0.0

    @property
    def advice(self) -> str:
        return (
            f"{self.app} retries {self.retry_share:.0%} of its 429s after a median "
            f"{self.median_gap_ms:,.0f} ms: its real demand is {self.demand:,} requests "
            f"(busiest minute {self.demand_peak_rpm}/min), not {self.attempts:,} "
            f"({self.attempts_peak_rpm}/min). Ask its owner to honour Retry-After and back off "
            "exponentially with jitter; make the limit's 429 carry a Retry-After header "
            "(an AssignMessage in the proxy's FaultRule for the SpikeArrest/Quota fault). "
            "Do not tighten the limit for it: limits are sized on its collapsed demand."
        )

    def to_dict(self) -> dict:
        return {
            "finding": "retries without backoff",
            "proxy": self.proxy,
            "app": self.app,
            "client_id": self.client_id,
            "attempts": self.attempts,
            "refused": self.refused,
            "retries": self.retries,
            "demand": self.demand,
            "refusal_share": round(self.refusal_share, 4),
            "retry_share": round(self.retry_share, 4),
            "demand_peak_rpm": self.demand_peak_rpm,
            "attempts_peak_rpm": self.attempts_peak_rpm,
            "median_gap_ms": round(self.median_gap_ms, 1),
            "retry_window_ms": self.window_ms,
            "advice": self.advice,
        }


def find_retry_storms(
    req: Requests, demand: Demand, window_ms: int = RETRY_MS
) -> list[RetryStorm]:
    """Clients retrying refusals within ``window_ms`` (see module docstring), busiest first."""
    out = []
    for proxy, party in req.pairs():
        app, client = req.parties[party]
        if client == NOT_SET:
            continue  # the anonymous bucket mixes many callers
        rows = req.rows_of_pair(proxy, party)
        refused = demand.refused[rows]
        if int(refused.sum()) < MIN_REFUSALS:
            continue
        gaps = np.diff(req.ts[rows])
        after_refusal = refused[:-1]
        quick = after_refusal & (gaps <= window_ms)
        retries = int(quick.sum())
        if retries < MIN_RETRY_SHARE * int(refused.sum()):
            continue
        fresh = np.r_[True, ~quick]  # a quick retry is the same demand again
        minute = req.ts[rows] // MINUTE_MS
        out.append(
            RetryStorm(
                proxy=req.proxies[proxy],
                app=app,
                client_id=client,
                attempts=int(rows.size),
                refused=int(refused.sum()),
                retries=retries,
                demand=int(fresh.sum()),
                demand_peak_rpm=_peak(minute[fresh]),
                attempts_peak_rpm=_peak(minute),
                median_gap_ms=float(np.median(gaps[quick])),
                window_ms=int(window_ms),
            )
        )
    return sorted(out, key=lambda s: (-s.attempts, s.proxy, s.app))


def _peak(minutes: np.ndarray) -> int:
    return int(np.unique(minutes, return_counts=True)[1].max()) if minutes.size else 0


def storm_keys(storms: list[RetryStorm]) -> set[tuple[str, str, str]]:
    """(proxy, app, client id) of each storm, for ``abuse.find_abusive``."""
    return {(s.proxy, s.app, s.client_id) for s in storms}
