"""One SpikeArrest or Quota replayed over a stream fed in consecutive time slices.

A share too large to hold (``copilot.throttling.shares``) is replayed slice by
slice; :class:`Replayer` carries exactly what crosses a slice's edge, so the
concatenated results equal :func:`copilot.throttling.replay.spike_arrest` /
:func:`copilot.throttling.replay_quota.quota` over the whole stream, wherever the
cuts fall (inside one millisecond too). It runs the same kernels from a carried
state. Per key it carries:

- smoothing (GCRA): the theoretical arrival time, in time scaled by the rate's
  count from a fixed origin (the first time fed);
- sliding counts (``UseEffectiveCount``, ``rollingwindow``): the admitted times
  still inside the window, prepended to the key's next rows as a *halo* whose
  decisions are fixed. Rejected requests never count, so at most ``limit``;
- calendar and default Quotas: the last window's number and its admitted count;
- flexi Quotas: when the open window closes and its admitted count.

A key whose carry can no longer change a decision (its window has passed, its
bucket refilled) is dropped, so the state follows the keys active lately.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from copilot.throttling.rates import burst_allowance
from copilot.throttling.replay import SpikeArrestSpec, gcra, sliding_count
from copilot.throttling.replay_quota import (
    QuotaSpec,
    _first_per_window,
    calendar_windows,
    flexi_from,
)

# One key's rows of a slice and its carry (None: fresh) -> (rejected, new carry).
Step = Callable[[np.ndarray, Any], tuple[np.ndarray, Any]]
# A carry and the latest time fed -> whether it can still change a decision.
Live = Callable[[Any, int], bool]


class Carries:
    """Per-key carries of a replay fed in consecutive slices; a key gone quiet is swept
    once its carry can no longer change a decision (``_live``)."""

    _live: Live

    def __init__(self) -> None:
        self._carry: dict[int, Any] = {}  # key -> carry
        self._swept = 16  # keys held after the last sweep of stale carries (at least 16)

    def carried(self) -> dict[int, int]:
        """How many values each key carries (times for a sliding or rolling window, else
        1 or 2)."""
        return {
            k: (c.size if isinstance(c, np.ndarray) else len(c)) for k, c in self._carry.items()
        }

    def _sweep(self, now: int) -> None:
        """Drop the carries that can no longer change a decision, once the keys have doubled."""
        if len(self._carry) < 2 * self._swept:
            return
        self._carry = {k: c for k, c in self._carry.items() if self._live(c, now)}
        self._swept = max(len(self._carry), 16)


class Replayer(Carries):
    """One policy replayed over a stream fed in consecutive time slices; state carried exactly.

    ``keyed``: the policy's identifier is the key given per row (each key has its
    own counter). ``budget``: the most counted rejections before :attr:`stopped`
    (None: no limit); once stopped, :meth:`feed` returns all False without work.
    """

    def __init__(
        self, spec: SpikeArrestSpec | QuotaSpec, keyed: bool, budget: int | None = None
    ) -> None:
        super().__init__()
        self.spec, self.keyed, self.budget = spec, keyed, budget
        self._origin: int | None = None  # GCRA's time origin: the first time fed
        self._charged = 0  # counted rejections so far
        self._stopped = False
        self._step, self._live = self._kernel()

    @property
    def stopped(self) -> bool:
        """More than ``budget`` counted rejections so far."""
        return self._stopped

    def feed(
        self, ts: np.ndarray, keys: np.ndarray | None = None, counted: np.ndarray | None = None
    ) -> np.ndarray:
        """This slice's rejected mask. ``ts``: epoch ms, sorted, continuing the earlier
        slices; ``keys``: one int per row (used iff ``keyed``); ``counted``: which
        rejections the budget charges (None: all)."""
        ts = np.asarray(ts, dtype=np.int64)
        rejected = np.zeros(ts.size, dtype=bool)
        if ts.size == 0 or self._stopped:
            return rejected
        if self.keyed and keys is None:
            raise ValueError("a keyed replay needs a key per request")
        if self._origin is None:
            self._origin = int(ts[0])
        for key, idx in _groups(np.asarray(keys) if self.keyed else None, ts.size):
            t = ts if idx is None else ts[idx]
            local, carry = self._step(t, self._carry.get(key))
            self._carry[key] = carry
            if idx is None:
                rejected = local
            else:
                rejected[idx] = local
        self._sweep(int(ts[-1]))
        if self.budget is not None:
            self._charged += int(
                np.count_nonzero(rejected if counted is None else rejected & counted)
            )
            self._stopped = self._charged > self.budget
        return rejected

    def _kernel(self) -> tuple[Step, Live]:
        spec = self.spec
        if isinstance(spec, SpikeArrestSpec):
            if spec.use_effective_count:  # w units each: at most count // w a window
                return _sliding(spec.count // spec.weight, spec.period_ms)
            return self._gcra(spec)
        if spec.type == "rollingwindow":
            return _sliding(spec.allow, spec.window_ms)
        if spec.type == "flexi":
            return _flexi(spec)
        return _calendar(spec)

    def _gcra(self, spec: SpikeArrestSpec) -> tuple[Step, Live]:
        count, period, cost = spec.count, spec.period_ms, spec.weight
        burst = burst_allowance(count)

        def step(t: np.ndarray, carry: Any) -> tuple[np.ndarray, Any]:
            tat = None if carry is None else carry[0]
            rejected, tat = gcra(t, count, period, burst, cost=cost, origin=self._origin, tat=tat)
            return rejected, (tat,)

        def live(carry: Any, now: int) -> bool:
            # A TAT at or before the next request's scaled time is a full bucket: no carry.
            return carry[0] is not None and carry[0] > (now - self._origin) * count

        return step, live


def _groups(keys: np.ndarray | None, n: int):
    """(key, its row indices in time order) per key of a slice; (0, None) unkeyed."""
    if keys is None:
        yield 0, None
        return
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    bounds = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        yield int(sorted_keys[a]), order[a:b]


def _sliding(limit: int, window_ms: int) -> tuple[Step, Live]:
    """At most ``limit`` admitted in any trailing window; carry: the admitted times still in it."""

    def step(t: np.ndarray, carry: Any) -> tuple[np.ndarray, Any]:
        halo = np.zeros(0, np.int64) if carry is None else carry[carry > t[0] - window_ms]
        both = np.concatenate([halo, t])
        rejected = sliding_count(both, limit, window_ms, halo=halo.size)[halo.size :]
        admitted = np.concatenate([halo, t[~rejected]])
        return rejected, admitted[admitted > t[-1] - window_ms]

    def live(carry: Any, now: int) -> bool:
        return bool(carry.size) and int(carry[-1]) > now - window_ms

    return step, live


def _calendar(spec: QuotaSpec) -> tuple[Step, Live]:
    """Calendar and default Quotas; carry: (the last window's number, its admitted count)."""

    def step(t: np.ndarray, carry: Any) -> tuple[np.ndarray, Any]:
        windows = calendar_windows(t, spec)
        last = int(windows[-1])
        head = carry[1] if carry is not None and carry[0] == int(windows[0]) else 0
        rejected = _first_per_window(windows, spec.allow, head)
        in_last = int(windows.size - np.searchsorted(windows, last, side="left"))
        seen = in_last + (head if int(windows[0]) == last else 0)
        return rejected, (last, min(seen, spec.allow))

    def live(carry: Any, now: int) -> bool:
        return carry[0] >= int(calendar_windows(np.array([now], dtype=np.int64), spec)[0])

    return step, live


def _flexi(spec: QuotaSpec) -> tuple[Step, Live]:
    """Flexi Quotas; carry: (when the open window closes, its admitted count)."""

    def step(t: np.ndarray, carry: Any) -> tuple[np.ndarray, Any]:
        close, used = (None, 0) if carry is None else carry
        rejected, close, used = flexi_from(t, spec.allow, spec.window_ms, close, used)
        return rejected, (close, min(used, spec.allow))

    def live(carry: Any, now: int) -> bool:
        return carry[0] > now

    return step, live
