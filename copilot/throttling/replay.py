"""An Apigee-faithful replay of SpikeArrest and Quota over historical timestamps.

Every function takes epoch-millisecond timestamps sorted ascending (ties in
arrival order) and returns a boolean mask of the requests the policy would
have rejected. ``keys`` (optional, one int per request) give the policy's
``<Identifier>``: each key has its own counter.

SpikeArrest (APIGEE.md, "Throttling policies"; docs.apigee.com/api-platform/
reference/policies/spike-arrest-policy):

- ``UseEffectiveCount`` false: *smoothing*. ``Npm`` admits one request per
  ``60/N`` s and ``Nps`` one per ``1/N`` s, with a burst bucket of
  ``max(1, N // 10)`` (fault text ``messagesPerPeriod=300 ...
  maxBurstMessageCount=30``): a token bucket, the same model as the gateway
  emulator (``copilot.scopes.spikearrest``). It is computed as GCRA (a
  theoretical arrival time ``TAT``; admit when ``t >= TAT - (B-1) I``, then
  ``TAT = max(TAT, t) + I``) in integer time scaled by N, so it is exact.
- ``UseEffectiveCount`` true: a *sliding count* across message processors, at
  most N admitted in any period (1 s or 60 s) — how APIGEE.md describes it and
  how the sample generator enforces it.

Quota (cloud.google.com/apigee/docs/api-platform/reference/policies/quota-policy):
``calendar`` windows start at ``StartTime`` and repeat every interval;
``default`` (no type) resets at the top of the minute/hour/day (UTC), weeks
end Sunday midnight GMT; ``flexi`` starts a window at a key's first request;
``rollingwindow`` counts the admitted requests of the trailing interval. A
rejected request does not count. Quotas count synchronously here (Apigee's
asynchronous counter can overshoot a little: APIGEE.md).

The loops are vectorised by regime: GCRA runs stretches with no rejection in
one numpy pass and saturated stretches (one admission per interval) in
another; the sliding count visits only requests whose raw trailing count
exceeds the limit, the only ones that can be rejected. ``budget`` stops a
replay early once more than ``budget`` requests flagged in ``counted`` are
rejected (the sizing search needs only "too many or not").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from copilot.throttling.rates import UNIT_MS, burst_allowance, parse_rate

_A_MIN, _A_MAX = 256, 1 << 16  # rows per vectorised no-rejection pass
_B_MIN, _B_MAX = 64, 1 << 14  # admissions per vectorised saturated pass


@dataclass(frozen=True)
class SpikeArrestSpec:
    """A SpikeArrest as replayed: its rate string and ``UseEffectiveCount``."""

    rate: str
    use_effective_count: bool = False

    @property
    def count(self) -> int:
        return parse_rate(self.rate)[0]

    @property
    def period_ms(self) -> int:
        return int(parse_rate(self.rate)[1] * 1000)


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


@dataclass(frozen=True)
class Outcome:
    """Which requests a replay rejected; ``stopped`` when the budget ran out first."""

    rejected: np.ndarray
    stopped: bool = False


def _by_key(ts: np.ndarray, keys: np.ndarray | None, memo: dict | None = None):
    """Per key: (its number, indices into ts, that key's timestamps), in time order."""
    memo = {} if memo is None else memo
    if "groups" not in memo:
        if keys is None:
            memo["groups"] = [(np.arange(ts.size), ts)]
        else:
            order = np.argsort(keys, kind="stable")
            sorted_keys = keys[order]
            bounds = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1], True])
            memo["groups"] = [
                (order[a:b], ts[order[a:b]]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
            ]
    for number, (idx, t) in enumerate(memo["groups"]):
        yield number, idx, t


class _Budget:
    def __init__(self, counted: np.ndarray | None, budget: int | None) -> None:
        self.counted, self.left = counted, budget

    def spend(self, idx: np.ndarray) -> bool:
        """Charge rejections at global ``idx``; True when the budget is exhausted."""
        if self.left is None or idx.size == 0:
            return False
        hit = int(self.counted[idx].sum()) if self.counted is not None else idx.size
        self.left -= hit
        return self.left < 0


def spike_arrest(
    ts: np.ndarray,
    spec: SpikeArrestSpec,
    keys: np.ndarray | None = None,
    counted: np.ndarray | None = None,
    budget: int | None = None,
    memo: dict | None = None,
) -> Outcome:
    """Requests a SpikeArrest would have rejected (see module docstring).

    ``memo`` (a dict kept with the stream) caches what does not depend on the
    rate, so a search replaying one stream many times pays for it once.
    """
    ts = np.asarray(ts, dtype=np.int64)
    rejected = np.zeros(ts.size, dtype=bool)
    purse = _Budget(counted, budget)
    count, period = spec.count, spec.period_ms
    memo = {} if memo is None else memo
    for number, idx, t in _by_key(ts, keys, memo):
        if spec.use_effective_count:
            lo = _window_starts(memo, number, t, period)
            local = sliding_count(t, count, period, purse, idx, lo)
        else:
            local = gcra(t, count, period, burst_allowance(count), purse, idx)
        rejected[idx] = local
        if purse.left is not None and purse.left < 0:
            return Outcome(rejected, True)
    return Outcome(rejected)


def gcra(
    t: np.ndarray,
    count: int,
    period_ms: int,
    burst: int,
    purse: _Budget | None = None,
    idx: np.ndarray | None = None,
) -> np.ndarray:
    """Token-bucket smoothing of one stream: ``count`` per ``period_ms``, bucket ``burst``."""
    n = t.size
    rejected = np.zeros(n, dtype=bool)
    if n == 0:
        return rejected
    # Scale time by ``count`` so the interval (period/count) is the integer ``period_ms``.
    x = (t - t[0]) * np.int64(count)
    step, slack = np.int64(period_ms), np.int64((burst - 1) * period_ms)
    gidx = np.arange(n) if idx is None else idx
    pos, tat = 0, np.int64(x[0])
    width_a, width_b = _A_MIN, _B_MIN
    while pos < n:
        # Regime A: assume every request from pos on is admitted; find the first that is not.
        end = min(n, pos + width_a)
        seg = x[pos:end]
        u = seg - np.arange(end - pos, dtype=np.int64) * step
        before = np.maximum.accumulate(np.r_[tat, u[:-1]])
        bad = np.flatnonzero(u < before - slack)
        if bad.size == 0:
            tat = np.int64((end - pos) * step + max(before[-1], u[-1]))
            pos, width_a = end, min(width_a * 2, _A_MAX)
            continue
        r = pos + int(bad[0])
        tat = np.int64(int(bad[0]) * step + before[bad[0]])
        pos, width_a = r, _A_MIN
        # Regime B: saturated; the k-th next admission is the first request at or after
        # TAT + k*I - slack, as long as it arrives before TAT + k*I (the bucket stays empty).
        while pos < n:
            k = np.arange(width_b, dtype=np.int64)
            first = pos + np.searchsorted(x[pos:], tat + k * step - slack, side="left")
            admit = np.maximum.accumulate(first - k) + k  # strictly increasing
            live = admit < n
            saturated = live & (x[np.minimum(admit, n - 1)] <= tat + k * step)
            stop = int(np.argmin(saturated)) if not saturated.all() else width_b
            last = int(admit[stop - 1]) if stop else pos - 1
            # Everything between pos and the next non-saturated admission is rejected,
            # except the saturated admissions themselves.
            upto = (
                int(admit[stop])
                if stop < width_b and live[stop]
                else (n if stop < width_b else last + 1)
            )
            block = np.ones(upto - pos, dtype=bool)
            block[admit[:stop] - pos] = False
            rejected[pos:upto] = block
            if purse is not None and purse.spend(gidx[pos:upto][block]):
                return rejected
            tat = tat + np.int64(stop) * step
            if stop < width_b:
                pos, width_b = upto, _B_MIN
                break
            pos, width_b = upto, min(width_b * 2, _B_MAX)
    return rejected


def _window_starts(memo: dict, number: int, t: np.ndarray, window_ms: int) -> np.ndarray:
    key = ("lo", number, window_ms)
    if key not in memo:
        memo[key] = np.searchsorted(t, t - window_ms, side="right")
    return memo[key]


def sliding_count(
    t: np.ndarray,
    limit: int,
    window_ms: int,
    purse: _Budget | None = None,
    idx: np.ndarray | None = None,
    lo: np.ndarray | None = None,
) -> np.ndarray:
    """At most ``limit`` admitted in any ``(t - window_ms, t]``; rejected ones do not count.

    ``lo[j]``, the first request inside ``j``'s window, may be passed in (it
    does not depend on the limit).
    """
    n = t.size
    rejected = np.zeros(n, dtype=bool)
    if n <= limit:
        return rejected
    if lo is None:
        lo = np.searchsorted(t, t - window_ms, side="right")
    hot = np.flatnonzero(np.arange(n) - lo + 1 > limit)  # only these can be rejected
    gidx = np.arange(n) if idx is None else idx
    recent: deque[int] = deque()  # times of rejected requests still in the window
    pending: list[int] = []  # rejections not yet charged to the budget
    for j in hot.tolist():
        tj = int(t[j])
        while recent and recent[0] <= tj - window_ms:
            recent.popleft()
        if (j - int(lo[j])) - len(recent) >= limit:
            rejected[j] = True
            recent.append(tj)
            pending.append(j)
            if purse is not None and len(pending) >= 256:
                if purse.spend(gidx[pending]):
                    return rejected
                pending = []
    if purse is not None and pending:
        purse.spend(gidx[pending])
    return rejected


def quota(
    ts: np.ndarray,
    spec: QuotaSpec,
    keys: np.ndarray | None = None,
    counted: np.ndarray | None = None,
    budget: int | None = None,
    memo: dict | None = None,
) -> Outcome:
    """Requests a Quota would have rejected (see module docstring)."""
    ts = np.asarray(ts, dtype=np.int64)
    rejected = np.zeros(ts.size, dtype=bool)
    purse = _Budget(counted, budget)
    memo = {} if memo is None else memo
    for number, idx, t in _by_key(ts, keys, memo):
        if spec.type == "rollingwindow":
            lo = _window_starts(memo, number, t, spec.window_ms)
            local = sliding_count(t, spec.allow, spec.window_ms, purse, idx, lo)
        elif spec.type == "flexi":
            local = _flexi(t, spec.allow, spec.window_ms)
        else:
            local = _first_per_window(calendar_windows(t, spec), spec.allow)
        rejected[idx] = local
        if spec.type != "rollingwindow":  # the sliding count charged as it went
            purse.spend(idx[local])
        if purse.left is not None and purse.left < 0:
            return Outcome(rejected, True)
    return Outcome(rejected)


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


def _first_per_window(window: np.ndarray, allow: int) -> np.ndarray:
    """Reject all but the first ``allow`` requests of each (sorted) window."""
    if window.size == 0:
        return np.zeros(0, dtype=bool)
    starts = np.flatnonzero(np.r_[True, window[1:] != window[:-1]])
    lengths = np.diff(np.r_[starts, window.size])
    rank = np.arange(window.size) - np.repeat(starts, lengths)
    return rank >= allow


def _flexi(t: np.ndarray, allow: int, window_ms: int) -> np.ndarray:
    """Windows open at the first request after the previous window closed."""
    rejected = np.zeros(t.size, dtype=bool)
    pos = 0
    while pos < t.size:
        end = int(np.searchsorted(t, t[pos] + window_ms, side="left"))
        rejected[pos + allow : end] = True
        pos = end
    return rejected
