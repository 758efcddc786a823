"""A CountOnly + EnforceOnly Quota pair replayed as Apigee runs it: one counter, two places.

The EnforceOnly policy refuses a request when the shared counter has reached the
allowance; the CountOnly policy adds to that counter where it runs, usually in the
response flow so that only answered requests count (quota-policy reference,
``<CountOnly>``, ``<EnforceOnly>``, ``<SharedName>``:
cloud.google.com/apigee/docs/api-platform/reference/policies/quota-policy;
Google's llm-token-limits samples). A request the enforcer refuses raises a fault,
so the response flow, and the counter in it, never runs for it: it is not counted.
A request the counter sees but the enforcer does not (another flow) always counts.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from copilot.throttling.replay_quota import QuotaSpec, calendar_windows

_BLOCK = 1 << 16  # requests turned into Python values at once


def pair_rejected(
    ts: np.ndarray,
    keys: np.ndarray | None,
    enforced: np.ndarray,
    counted: np.ndarray,
    spec: QuotaSpec,
) -> np.ndarray:
    """Which requests (time order, one counter per key) the enforcer refuses.

    ``enforced`` / ``counted``: bool per request, the enforcer / the counter runs on it."""
    rejected = np.zeros(ts.size, dtype=bool)
    groups = [np.arange(ts.size)] if keys is None else _groups(keys)
    for idx in groups:
        rejected[idx] = _one_counter(ts[idx], enforced[idx], counted[idx], spec)
    return rejected


def _groups(keys: np.ndarray) -> list[np.ndarray]:
    order = np.argsort(keys, kind="stable")  # stable: time order within a key
    cuts = np.flatnonzero(np.diff(keys[order])) + 1
    return np.split(order, cuts)


def _one_counter(t: np.ndarray, enforced, counted, spec: QuotaSpec) -> np.ndarray:
    if t.size == 0:  # neither policy of the pair runs on any of these requests
        return np.zeros(0, dtype=bool)
    if spec.type == "rollingwindow":
        return _rolling(t, enforced, counted, spec.allow, spec.window_ms)
    if spec.type == "flexi":
        windows = flexi_windows(t, spec.window_ms)
    else:
        windows = calendar_windows(t, spec)
    return windowed_refusals(windows, enforced, counted, spec.allow)


def windowed_refusals(
    windows: np.ndarray, enforced, counted, allow: int, head: int = 0
) -> np.ndarray:
    """The enforced requests refused in (sorted) fixed ``windows``; ``head``: requests an
    earlier slice counted in the first window."""
    # Below the allowance nothing is refused, so every counted request before the
    # allow-th one counts; from there on every enforced request is refused.
    starts = np.flatnonzero(np.r_[True, windows[1:] != windows[:-1]])
    lengths = np.diff(np.r_[starts, windows.size])
    c = counted.astype(np.int64)
    before = np.cumsum(c) - c  # counted requests earlier in time...
    before -= np.repeat(before[starts], lengths)  # ...in this window
    if head:
        before[: lengths[0]] += head
    return enforced & (before >= allow)


def flexi_windows(t: np.ndarray, window_ms: int, close: int | None = None) -> np.ndarray:
    """A window opens at the first request after the previous one closed. ``close``: when
    an earlier slice's open window closes; the requests before it are window 0."""
    out = np.zeros(t.size, dtype=np.int64)
    pos, number = 0, 0
    if close is not None:
        pos = int(np.searchsorted(t, close, side="left"))
        number = 1 if pos else 0
    while pos < t.size:
        end = int(np.searchsorted(t, t[pos] + window_ms, side="left"))
        out[pos:end] = number
        pos, number = end, number + 1
    return out


def _rolling(
    t: np.ndarray, enforced, counted, allow: int, window_ms: int, window: deque[int] | None = None
) -> np.ndarray:
    """The counted requests admitted in the trailing window (a refused one never counts).
    ``window``: the admitted times an earlier slice left in it, updated in place."""
    rejected = np.zeros(t.size, dtype=bool)
    window = deque() if window is None else window
    for a in range(0, t.size, _BLOCK):  # Python values for one block at a time (memory)
        part = slice(a, a + _BLOCK)
        rows = zip(t[part].tolist(), enforced[part].tolist(), counted[part].tolist(), strict=True)
        for i, (now, e, c) in enumerate(rows, a):
            while window and window[0] <= now - window_ms:
                window.popleft()
            if e and len(window) >= allow:
                rejected[i] = True
            elif c:
                window.append(now)
    return rejected
