"""An Apigee-faithful replay of SpikeArrest and Quota over historical timestamps.

Every function takes epoch-millisecond timestamps sorted ascending (ties in
arrival order) and returns a boolean mask of the requests the policy would
have rejected. ``keys`` (optional, one int per request) give the policy's
``<Identifier>``: each key has its own counter.

SpikeArrest (docs/apigee.md, 'Throttling policies'; docs.apigee.com/api-platform/
reference/policies/spike-arrest-policy):

- ``UseEffectiveCount`` false: *smoothing*. ``Npm`` admits one request per
  ``60/N`` s and ``Nps`` one per ``1/N`` s, with a burst bucket of
  ``max(1, N // 10)`` (fault text ``messagesPerPeriod=300 ...
  maxBurstMessageCount=30``): a token bucket, the same model as the gateway
  emulator (``copilot.scopes.spikearrest``). It is computed as GCRA (a
  theoretical arrival time ``TAT``; admit when ``t >= TAT - (B-1) I``, then
  ``TAT = max(TAT, t) + I``) in integer time scaled by N, so it is exact.
- ``UseEffectiveCount`` true: a *sliding count* across message processors, at
  most N admitted in any period (1 s or 60 s) — how docs/apigee.md describes it and
  how the sample generator enforces it.

Quota lives in :mod:`copilot.throttling.replay_quota` and shares the sliding
count below.

The loops are vectorised by regime: GCRA runs stretches with no rejection in
one numpy pass and saturated stretches (one admission per interval) in
another; the sliding count visits only requests whose raw trailing count
exceeds the limit, the only ones that can be rejected. ``budget`` stops a
replay early once more than ``budget`` requests flagged in ``counted`` are
rejected (the sizing search needs only "too many or not").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from copilot.throttling.rates import burst_allowance, parse_rate
from copilot.throttling.requests import index_dtype

_A_MIN, _A_MAX = 256, 1 << 16  # rows per vectorised no-rejection pass
_B_MIN, _B_MAX = 64, 1 << 14  # admissions per vectorised saturated pass
_HOT_BLOCK = 1 << 16  # candidates of a sliding count turned into Python ints at once


@dataclass(frozen=True)
class SpikeArrestSpec:
    """A SpikeArrest as replayed: its rate string and ``UseEffectiveCount``."""

    rate: str
    use_effective_count: bool = False
    weight: int = 1  # a literal <MessageWeight>: each request takes this many of the rate

    @property
    def count(self) -> int:
        return parse_rate(self.rate)[0]

    @property
    def period_ms(self) -> int:
        return int(parse_rate(self.rate)[1] * 1000)


@dataclass(frozen=True)
class Outcome:
    """Which requests a replay rejected; ``stopped`` when the budget ran out first."""

    rejected: np.ndarray
    stopped: bool = False


@dataclass
class ReplayCache:
    """What replaying one stream computes that no limit's value changes, kept with the stream
    so a search replaying it many times pays for it once."""

    groups: list[tuple[np.ndarray, np.ndarray]] | None = None  # per key: (indices, timestamps)
    window_starts: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)


def by_key(ts: np.ndarray, keys: np.ndarray | None, cache: ReplayCache | None = None):
    """Per key: (its number, indices into ts, that key's timestamps), in time order."""
    cache = ReplayCache() if cache is None else cache
    if cache.groups is None:
        if keys is None:
            cache.groups = [(np.arange(ts.size, dtype=index_dtype(ts.size)), ts)]
        else:
            order = np.argsort(keys, kind="stable").astype(index_dtype(ts.size))
            sorted_keys = keys[order]
            bounds = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1], True])
            cache.groups = [
                (order[a:b], ts[order[a:b]]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
            ]
    for number, (idx, t) in enumerate(cache.groups):
        yield number, idx, t


class Budget:
    """How many more counted rejections a replay may make before it stops (None: no limit)."""

    def __init__(self, counted: np.ndarray | None, budget: int | None) -> None:
        self.counted, self.left = counted, budget

    def spend(self, idx: np.ndarray) -> bool:
        """Charge rejections at global ``idx``; True when the budget is exhausted."""
        if self.left is None or idx.size == 0:
            return False
        hit = int(self.counted[idx].sum()) if self.counted is not None else idx.size
        self.left -= hit
        return self.left < 0


# One key's replay: (key number, its indices into ts, its timestamps, the budget) -> rejected.
KeyReplay = Callable[[int, np.ndarray, np.ndarray, "Budget"], np.ndarray]


def replay_keys(
    ts: np.ndarray,
    keys: np.ndarray | None,
    counted: np.ndarray | None,
    budget: int | None,
    cache: ReplayCache | None,
    one_key: KeyReplay,
) -> Outcome:
    """Run ``one_key`` over each key's requests (one counter each); stop once the budget of
    counted rejections is spent."""
    ts = np.asarray(ts, dtype=np.int64)
    rejected = np.zeros(ts.size, dtype=bool)
    purse = Budget(counted, budget)
    for number, idx, t in by_key(ts, keys, cache):
        rejected[idx] = one_key(number, idx, t, purse)
        if purse.left is not None and purse.left < 0:
            return Outcome(rejected, True)
    return Outcome(rejected)


def spike_arrest(
    ts: np.ndarray,
    spec: SpikeArrestSpec,
    keys: np.ndarray | None = None,
    counted: np.ndarray | None = None,
    budget: int | None = None,
    cache: ReplayCache | None = None,
) -> Outcome:
    """Requests a SpikeArrest would have rejected (see module docstring).

    ``cache`` (kept with the stream) holds what does not depend on the rate, so
    a search replaying one stream many times pays for it once.
    """
    count, period = spec.count, spec.period_ms
    cache = ReplayCache() if cache is None else cache

    def one_key(number: int, idx: np.ndarray, t: np.ndarray, purse: Budget) -> np.ndarray:
        if spec.use_effective_count:  # w units each: at most count // w requests a window
            lo = window_starts(cache, number, t, period)
            return sliding_count(t, count // spec.weight, period, purse, idx, lo)
        return gcra(t, count, period, burst_allowance(count), purse, idx, spec.weight)[0]

    return replay_keys(ts, keys, counted, budget, cache, one_key)


def gcra(
    t: np.ndarray,
    count: int,
    period_ms: int,
    burst: int,
    purse: Budget | None = None,
    idx: np.ndarray | None = None,
    cost: int = 1,
    origin: int | None = None,
    tat: int | None = None,
) -> tuple[np.ndarray, int | None]:
    """Token-bucket smoothing of one stream: ``count`` per ``period_ms``, bucket ``burst``;
    each request takes ``cost`` tokens (a ``<MessageWeight>``): (rejected, the final ``TAT``).

    With cost w, a request passes when the bucket holds w tokens: ``t >= TAT - (B-w) I``,
    then ``TAT = max(TAT, t) + w I``; a bucket smaller than w passes nothing. Time is
    scaled as ``(t - origin) * count`` (``origin``: the stream's first time unless
    given); ``tat`` is the theoretical arrival time in those units left by earlier
    requests (None: none yet). The final TAT is meaningless when the budget ran out.

    One function on purpose (over 60 lines): it is the hot loop of every sizing
    search, and its two regimes share ``pos``/``tat`` state that helper calls
    would have to pass back and forth on every block.
    """
    n = t.size
    rejected = np.zeros(n, dtype=bool)
    if n == 0:
        return rejected, tat
    if cost > burst:
        rejected[:] = True
        if purse is not None:
            purse.spend(np.arange(n) if idx is None else idx)
        return rejected, tat
    # Scale time by ``count`` so the interval (period/count) is the integer ``period_ms``.
    x = (t - (t[0] if origin is None else np.int64(origin))) * np.int64(count)
    step, slack = np.int64(period_ms * cost), np.int64((burst - cost) * period_ms)
    gidx = np.arange(n) if idx is None else idx
    # A TAT at or before the first request acts as no TAT at all (the bucket is full).
    pos, tat = 0, np.int64(x[0] if tat is None else tat)
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
                return rejected, int(tat)
            tat = tat + np.int64(stop) * step
            if stop < width_b:
                pos, width_b = upto, _B_MIN
                break
            pos, width_b = upto, min(width_b * 2, _B_MAX)
    return rejected, int(tat)


def window_starts(cache: ReplayCache, number: int, t: np.ndarray, window_ms: int) -> np.ndarray:
    """For each request of key ``number``, the first request inside its trailing window."""
    key = (number, window_ms)
    if key not in cache.window_starts:
        cache.window_starts[key] = np.searchsorted(t, t - window_ms, side="right")
    return cache.window_starts[key]


def sliding_count(
    t: np.ndarray,
    limit: int,
    window_ms: int,
    purse: Budget | None = None,
    idx: np.ndarray | None = None,
    lo: np.ndarray | None = None,
    halo: int = 0,
) -> np.ndarray:
    """At most ``limit`` admitted in any ``(t - window_ms, t]``; rejected ones do not count.

    ``lo[j]``, the first request inside ``j``'s window, may be passed in (it
    does not depend on the limit). The first ``halo`` requests were admitted
    earlier (a previous slice's carry): they count but are never rejected.
    """
    n = t.size
    rejected = np.zeros(n, dtype=bool)
    if n <= limit:
        return rejected
    if lo is None:
        lo = np.searchsorted(t, t - window_ms, side="right")
    hot = np.flatnonzero(np.arange(n) - lo + 1 > limit)  # only these can be rejected
    if halo:
        hot = hot[hot >= halo]
    gidx = np.arange(n) if idx is None else idx
    recent: deque[int] = deque()  # times of rejected requests still in the window
    pending: list[int] = []  # rejections not yet charged to the budget
    for a in range(0, hot.size, _HOT_BLOCK):  # Python ints for one block at a time (memory)
        for j in hot[a : a + _HOT_BLOCK].tolist():
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
