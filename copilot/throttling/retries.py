"""Retry storms: clients that answer a 429 by asking again at once.

A gateway refusal (SpikeArrest/Quota 429) followed by the same client's next
request within ``window_ms`` is a retry that did not wait (``demand.RETRY_MS``,
2 s, by default: Apigee's SpikeArrest and Quota send no ``Retry-After`` unless
the proxy adds one, so the window is what a client that backs off would at
least wait; pass the ``Retry-After`` the proxy sends when it does).

A retry is the *same request* again: when the logs' verb and path were kept
(``Requests.attrs``), the next request must repeat the refused one's verb and
path; a scraper's next request after a 429 is the next page, not a retry. An
identified client is reported as *retries without backoff* when it was
refused at least ``MIN_REFUSALS`` times, at least ``MIN_RETRY_SHARE`` of its
refusals were retried within the window, and its collapsed demand is
*modest*: its busiest minute of distinct requests is at most
``MODEST_OVER_ACCEPTED`` times its busiest minute of accepted ones, i.e. the
limit would have let most of what it really wants through had it waited. A
client whose distinct requests alone overrun the limit is high volume, not
retrying (abuse.find_abusive judges it). Its *demand* is its attempts with the
retries collapsed into the first (``demand.measure``); its *refusal share* is
refused attempts over attempts. Such a client is not abusive for being
refused or fast (``abuse.find_abusive`` drops those two signals for it): the
retries are what make it look so, and a tighter limit would only make it
retry harder. The advice is about its behaviour (honour ``Retry-After``, back
off exponentially with jitter) and the limit's ``Retry-After`` header; the
limits are sized on the collapsed demand.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from copilot.logs.schema import NOT_SET
from copilot.throttling.collect import Requests
from copilot.throttling.demand import RETRY_MS, Demand
from copilot.throttling.tally import tally
from copilot.timeunits import MINUTE_MS

MIN_REFUSALS = 20
MIN_RETRY_SHARE = 0.5
MODEST_OVER_ACCEPTED = 2.0


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
    window_source: str = "default"  # "Retry-After" when the proxy's own header set it

    @property
    def refusal_share(self) -> float:
        return self.refused / self.attempts if self.attempts else 0.0

    @property
    def retry_share(self) -> float:
        return self.retries / self.refused if self.refused else 0.0

    @property
    def window_text(self) -> str:
        if self.window_source == "Retry-After":
            return f"the proxy's Retry-After ({self.window_ms / 1000:g} s)"
        return f"default {self.window_ms / 1000:g} s (no Retry-After known for {self.proxy})"

    @property
    def advice(self) -> str:
        return (
            f"{self.app} retries {self.retry_share:.0%} of its 429s after a median "
            f"{self.median_gap_ms:,.0f} ms (retry window: {self.window_text}): its real demand is {self.demand:,} requests "
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
            "retry_window_source": self.window_text,
            "advice": self.advice,
        }


def find_retry_storms(
    req: Requests,
    demand: Demand,
    window_ms: int = RETRY_MS,
    retry_after_s: Mapping[str, float] | None = None,
) -> list[RetryStorm]:
    """Clients retrying refusals within the window (see module docstring), busiest first.

    ``retry_after_s``: proxy -> the Retry-After (s) its 429s carry, where a bundle or
    the logs show one; that proxy's window is then the Retry-After, else ``window_ms``.
    """
    out = []
    known = dict(retry_after_s or {})
    for proxy, party in req.pairs():
        app, client = req.parties[party]
        if client == NOT_SET:
            continue  # the anonymous bucket mixes many callers
        rows = req.rows_of_pair(proxy, party)
        refused = demand.refused[rows]
        if int(refused.sum()) < MIN_REFUSALS:
            continue
        window, source = retry_window(req.proxies[proxy], known, window_ms)
        gaps = np.diff(req.ts[rows])
        quick = refused[:-1] & (gaps <= window) & _same_request(req, rows)
        fresh = np.r_[True, ~quick]  # a quick retry is the same demand again
        minute = req.ts[rows] // MINUTE_MS
        tally = PairTally(
            attempts=int(rows.size), refused=int(refused.sum()), retries=int(quick.sum()),
            fresh_peak=_peak(minute[fresh]), attempts_peak=_peak(minute),
            accepted_peak=_peak(minute[~refused]),
        )  # fmt: skip
        storm = judge_storm(
            tally, req.proxies[proxy], req.parties[party], window, source,
            lambda gaps=gaps, quick=quick: float(np.median(gaps[quick])),
        )  # fmt: skip
        if storm is not None:
            out.append(storm)
    return sorted(out, key=lambda s: (-s.attempts, s.proxy, s.app))


@dataclass(frozen=True)
class PairTally:
    """What a storm is judged on, for one client on one proxy: its attempts, refusals and
    quick retries, and the busiest minute of its fresh, all and accepted attempts."""

    attempts: int
    refused: int
    retries: int
    fresh_peak: int
    attempts_peak: int
    accepted_peak: int


def retry_window(
    proxy: str, retry_after_s: Mapping[str, float], window_ms: int = RETRY_MS
) -> tuple[int, str]:
    """The proxy's retry window (ms) and where it comes from (the Retry-After its 429s carry,
    else ``window_ms``)."""
    if proxy in retry_after_s:
        return int(retry_after_s[proxy] * 1000), "Retry-After"
    return int(window_ms), "default"


def judge_storm(
    t: PairTally,
    proxy: str,
    party: tuple[str, str],
    window: int,
    source: str,
    median_gap: Callable[[], float],
) -> RetryStorm | None:
    """The storm one client's tally shows (see module docstring), None if it shows none;
    ``median_gap``: the median gap of its quick retries (asked only for a storm)."""
    if t.refused < MIN_REFUSALS or t.retries < MIN_RETRY_SHARE * t.refused:
        return None
    if t.fresh_peak > MODEST_OVER_ACCEPTED * max(t.accepted_peak, 1):
        return None  # its distinct requests alone overrun the limit: volume, not retries
    return RetryStorm(
        proxy=proxy,
        app=party[0],
        client_id=party[1],
        attempts=t.attempts,
        refused=t.refused,
        retries=t.retries,
        demand=t.attempts - t.retries,
        demand_peak_rpm=t.fresh_peak,
        attempts_peak_rpm=t.attempts_peak,
        median_gap_ms=median_gap(),
        window_ms=window,
        window_source=source,
    )


def _same_request(req: Requests, rows: np.ndarray) -> np.ndarray:
    """Per consecutive pair of ``rows``: does the second repeat the first's verb and path?

    All True when the logs' verb/path were not kept (the gap alone then decides).
    """
    keys = [req.attrs[name][0][rows] for name in ("verb", "path") if name in req.attrs]
    same = np.ones(max(rows.size - 1, 0), dtype=bool)
    for ids in keys:
        same &= ids[1:] == ids[:-1]
    return same


def _peak(minutes: np.ndarray) -> int:
    return int(tally(minutes)[1].max()) if minutes.size else 0


def storm_keys(storms: list[RetryStorm]) -> set[tuple[str, str, str]]:
    """(proxy, app, client id) of each storm, for ``abuse.find_abusive``."""
    return {(s.proxy, s.app, s.client_id) for s in storms}
