"""A CountOnly + EnforceOnly Quota pair replayed over a stream fed in consecutive time slices.

The counterpart of :mod:`copilot.throttling.replay_carry` for
:func:`copilot.throttling.current_pair.pair_rejected`: :class:`PairReplayer`
carries exactly what crosses a slice's edge, so the concatenated results equal
``pair_rejected`` over the whole stream wherever the cuts fall (inside one
millisecond and inside a window too). It runs ``current_pair``'s kernels from a
carried state. Per key it carries:

- calendar and default Quotas: the last window's number and the counted requests
  in it (capped at the allowance: past it every enforced request is refused, so
  more counted ones change nothing);
- flexi Quotas: when the open window closes and its counted requests (capped);
- rollingwindow Quotas: the counted, admitted times still inside the window. A
  refused request never counts; a counted request the enforcer does not see always
  counts, so the window may hold more than ``allow`` times, but whether it holds at
  least ``allow`` depends only on its latest ``allow``: those are kept.

Keys are identity codes, -1 (no identifier: one shared counter) among them; the
state is a dict, so any int is a key. A key whose carry can no longer change a
decision (its window has passed) is dropped, so the state follows the keys active
lately.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from copilot.throttling.current_pair import _rolling, flexi_windows, windowed_refusals
from copilot.throttling.replay_carry import Carries, Live, _groups
from copilot.throttling.replay_quota import QuotaSpec, calendar_windows

# One key's rows of a slice (times, enforced, counted) and its carry (None: fresh)
# -> (rejected, new carry).
Step = Callable[[np.ndarray, np.ndarray, np.ndarray, Any], tuple[np.ndarray, Any]]


class PairReplayer(Carries):
    """A CountOnly/EnforceOnly pair replayed over a stream fed in consecutive time slices.

    ``keyed``: the quota's identifier is the key given per row (one counter per key,
    -1 included)."""

    def __init__(self, spec: QuotaSpec, keyed: bool) -> None:
        super().__init__()
        self.spec, self.keyed = spec, keyed
        self._step, self._live = _kernel(spec)

    def feed(
        self, ts: np.ndarray, keys: np.ndarray | None, enforced: np.ndarray, counted: np.ndarray
    ) -> np.ndarray:
        """This slice's rejected mask. ``ts``: epoch ms, sorted, continuing the earlier
        slices; ``keys``: one int per row (used iff ``keyed``); ``enforced`` /
        ``counted``: bool per row, the enforcer / the counter runs on it."""
        ts = np.asarray(ts, dtype=np.int64)
        enforced = np.asarray(enforced, dtype=bool)
        counted = np.asarray(counted, dtype=bool)
        rejected = np.zeros(ts.size, dtype=bool)
        if ts.size == 0:
            return rejected
        if self.keyed and keys is None:
            raise ValueError("a keyed pair needs a key per request")
        for key, idx in _groups(np.asarray(keys) if self.keyed else None, ts.size):
            if idx is None:
                rejected, self._carry[key] = self._step(ts, enforced, counted,
                                                        self._carry.get(key))  # fmt: skip
            else:
                local, self._carry[key] = self._step(ts[idx], enforced[idx], counted[idx],
                                                     self._carry.get(key))  # fmt: skip
                rejected[idx] = local
        self._sweep(int(ts[-1]))
        return rejected


def _kernel(spec: QuotaSpec) -> tuple[Step, Live]:
    if spec.type == "rollingwindow":
        return _rolling_kernel(spec.allow, spec.window_ms)
    if spec.type == "flexi":
        return _flexi_kernel(spec.allow, spec.window_ms)
    return _calendar_kernel(spec)


def _last_window(windows: np.ndarray) -> int:
    """Where the last of (sorted) ``windows`` starts."""
    return int(np.searchsorted(windows, windows[-1], side="left"))


def _calendar_kernel(spec: QuotaSpec) -> tuple[Step, Live]:
    """Calendar and default Quotas; carry: (the last window's number, its counted requests)."""

    def step(t, enforced, counted, carry) -> tuple[np.ndarray, Any]:
        windows = calendar_windows(t, spec)
        head = carry[1] if carry is not None and carry[0] == int(windows[0]) else 0
        rejected = windowed_refusals(windows, enforced, counted, spec.allow, head)
        start = _last_window(windows)
        seen = int(np.count_nonzero(counted[start:])) + (head if start == 0 else 0)
        return rejected, (int(windows[-1]), min(seen, spec.allow))

    def live(carry: Any, now: int) -> bool:
        return carry[0] >= int(calendar_windows(np.array([now], dtype=np.int64), spec)[0])

    return step, live


def _flexi_kernel(allow: int, window_ms: int) -> tuple[Step, Live]:
    """Flexi Quotas; carry: (when the open window closes, its counted requests)."""

    def step(t, enforced, counted, carry) -> tuple[np.ndarray, Any]:
        close, used = (None, 0) if carry is None or t[0] >= carry[0] else carry
        windows = flexi_windows(t, window_ms, close)
        rejected = windowed_refusals(windows, enforced, counted, allow, used)
        start = _last_window(windows)
        seen = int(np.count_nonzero(counted[start:]))
        if start == 0 and close is not None:  # the carried window is still open
            seen += used
        else:
            close = int(t[start]) + window_ms
        return rejected, (close, min(seen, allow))

    def live(carry: Any, now: int) -> bool:
        return carry[0] > now

    return step, live


def _rolling_kernel(allow: int, window_ms: int) -> tuple[Step, Live]:
    """Rolling windows; carry: the latest ``allow`` counted admitted times still in the window."""

    def step(t, enforced, counted, carry) -> tuple[np.ndarray, Any]:
        window: deque[int] = deque() if carry is None else deque(carry.tolist())
        rejected = _rolling(t, enforced, counted, allow, window_ms, window)
        latest = np.array(list(window)[-allow:] if allow else [], dtype=np.int64)
        return rejected, latest[latest > int(t[-1]) - window_ms]

    def live(carry: Any, now: int) -> bool:
        return bool(carry.size) and int(carry[-1]) > now - window_ms

    return step, live
