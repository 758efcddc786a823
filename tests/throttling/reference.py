"""Slow, obviously-correct reference limiters the fast replay is checked against."""

from __future__ import annotations

from collections import deque

import numpy as np

from copilot.scopes.spikearrest import SpikeArrest


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def emulator_rejections(ts: np.ndarray, rate: str) -> np.ndarray:
    """The gateway emulator's SpikeArrest (a float token bucket), request by request."""
    clock = _Clock()
    limiter = SpikeArrest(rate, clock=clock)
    out = []
    for t in ts.tolist():
        clock.now = t / 1000.0
        out.append(limiter.admit() is not None)
    return np.array(out, dtype=bool)


def token_bucket(
    ts: np.ndarray, count: int, period_ms: int, burst: int, cost: int = 1
) -> np.ndarray:
    """Exact token bucket in rational arithmetic (tokens scaled by period_ms); each request
    takes ``cost`` tokens."""
    full = burst * period_ms
    tokens, last, out = full, None, []
    for t in ts.tolist():
        if last is not None:
            tokens = min(full, tokens + (t - last) * count)
        last = t
        if tokens >= cost * period_ms:
            tokens -= cost * period_ms
            out.append(False)
        else:
            out.append(True)
    return np.array(out, dtype=bool)


def sliding(ts: np.ndarray, limit: int, window_ms: int) -> np.ndarray:
    admitted: deque[int] = deque()
    out = []
    for t in ts.tolist():
        while admitted and admitted[0] <= t - window_ms:
            admitted.popleft()
        if len(admitted) < limit:
            admitted.append(t)
            out.append(False)
        else:
            out.append(True)
    return np.array(out, dtype=bool)
