"""Replay of Apigee Quota policies over historical timestamps.

(cloud.google.com/apigee/docs/api-platform/reference/policies/quota-policy)
``calendar`` windows start at ``StartTime`` and repeat every interval;
``default`` (no type) resets at the top of the minute/hour/day (UTC), weeks
end Sunday midnight GMT, months at the month's start; ``flexi`` starts a window
at a key's first request; ``rollingwindow`` counts the admitted requests of the
trailing interval (the sliding count of :mod:`copilot.throttling.replay`). A
rejected request does not count. Quotas count synchronously here (Apigee's
asynchronous counter can overshoot a little: docs/apigee.md, 'Throttling
policies'). Apigee keeps a quota counter per proxy ("Quotas apply to individual
API proxies").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from copilot.throttling.rates import UNIT_MS
from copilot.throttling.replay import (
    Budget,
    Outcome,
    ReplayCache,
    replay_keys,
    sliding_count,
    window_starts,
)


@dataclass(frozen=True)
class QuotaSpec:
    """A Quota as replayed: ``allow`` per ``interval`` x ``time_unit``, of ``type``."""

    allow: int
    interval: int = 1
    time_unit: str = "hour"
    type: str = "calendar"
    start_ms: int = 0  # StartTime of a calendar quota (epoch ms)

    @property
    def window_ms(self) -> int:
        if self.time_unit == "month":
            return 30 * UNIT_MS["day"] * self.interval  # only flexi/rolling use this length
        return UNIT_MS[self.time_unit] * self.interval


def quota(
    ts: np.ndarray,
    spec: QuotaSpec,
    keys: np.ndarray | None = None,
    counted: np.ndarray | None = None,
    budget: int | None = None,
    cache: ReplayCache | None = None,
) -> Outcome:
    """Requests a Quota would have rejected (see module docstring)."""
    cache = ReplayCache() if cache is None else cache

    def one_key(number: int, idx: np.ndarray, t: np.ndarray, purse: Budget) -> np.ndarray:
        if spec.type == "rollingwindow":  # the sliding count charges the budget as it goes
            lo = window_starts(cache, number, t, spec.window_ms)
            return sliding_count(t, spec.allow, spec.window_ms, purse, idx, lo)
        if spec.type == "flexi":
            local = _flexi(t, spec.allow, spec.window_ms)
        else:
            local = _first_per_window(calendar_windows(t, spec), spec.allow)
        purse.spend(idx[local])
        return local

    return replay_keys(ts, keys, counted, budget, cache, one_key)


def calendar_windows(t: np.ndarray, spec: QuotaSpec) -> np.ndarray:
    """The window number of each timestamp for a calendar or default Quota."""
    if spec.time_unit == "month":
        start = spec.start_ms if spec.type == "calendar" else 0
        months = _months(t) - _months(np.array([start]))[0]
        # Before the StartTime's day and time within its month, still the previous window.
        offset = start - _month_start_ms(np.array([start]))[0]
        months = months - ((t - _month_start_ms(t)) < offset)
        return months // spec.interval
    width = spec.window_ms
    if spec.type == "calendar":
        origin = spec.start_ms
    elif spec.time_unit == "week":
        origin = 4 * UNIT_MS["day"]  # 1970-01-05 was a Monday: weeks end Sunday midnight GMT
    else:
        origin = 0
    return (t - origin) // width


def _months(t: np.ndarray) -> np.ndarray:
    return t.astype("datetime64[ms]").astype("datetime64[M]").astype(np.int64)


def _month_start_ms(t: np.ndarray) -> np.ndarray:
    return (
        t.astype("datetime64[ms]").astype("datetime64[M]").astype("datetime64[ms]").astype(np.int64)
    )


def _first_per_window(window: np.ndarray, allow: int, head: int = 0) -> np.ndarray:
    """Reject all but the first ``allow`` requests of each (sorted) window; ``head``
    requests of the first window came before (an earlier slice)."""
    if window.size == 0:
        return np.zeros(0, dtype=bool)
    starts = np.flatnonzero(np.r_[True, window[1:] != window[:-1]])
    lengths = np.diff(np.r_[starts, window.size])
    rank = np.arange(window.size) - np.repeat(starts, lengths)
    if head:
        rank[: lengths[0]] += head
    return rank >= allow


def _flexi(t: np.ndarray, allow: int, window_ms: int) -> np.ndarray:
    """Windows open at the first request after the previous window closed."""
    return flexi_from(t, allow, window_ms)[0]


def flexi_from(
    t: np.ndarray, allow: int, window_ms: int, close: int | None = None, used: int = 0
) -> tuple[np.ndarray, int | None, int]:
    """:func:`_flexi` continuing an open window that closes at ``close`` (epoch ms) and
    has counted ``used`` requests: (rejected, the last window's close, its count so far)."""
    rejected = np.zeros(t.size, dtype=bool)
    pos = 0
    if close is not None and t.size and t[0] < close:
        pos = int(np.searchsorted(t, close, side="left"))
        rejected[max(allow - used, 0) : pos] = True
        used += pos
    while pos < t.size:
        close = int(t[pos]) + window_ms
        end = int(np.searchsorted(t, close, side="left"))
        rejected[pos + allow : end] = True
        pos, used = end, end - pos
    return rejected, close, used
