"""SpikeArrest-style smoothing for the gateway emulator.

Apigee's SpikeArrest does not count per minute: ``30pm`` admits about one
request every 2 s and ``10ps`` one every 100 ms, with a small burst allowance
of roughly a tenth of the rate (fault text shows ``messagesPerPeriod=300 ...
maxBurstMessageCount=30``). This is a token bucket with that shape: capacity
``max(1, rate // 10)``, refilled one token per ``period / rate``.
(docs.apigee.com/api-platform/reference/policies/spike-arrest-policy;
community.apigee.com/questions/71991)
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

from copilot.errors import InputError

_RATE = re.compile(r"^\s*(\d+)\s*(ps|pm)\s*$")


def parse_rate(rate: str) -> tuple[int, float]:
    """``"10ps"`` -> (10, 1.0); ``"30pm"`` -> (30, 60.0)."""
    match = _RATE.match(rate or "")
    if not match or int(match.group(1)) <= 0:
        raise InputError(f"SpikeArrest rate {rate!r} must look like 10ps or 30pm")
    return int(match.group(1)), 1.0 if match.group(2) == "ps" else 60.0


class SpikeArrest:
    """One limiter; ``admit(identifier)`` returns None or the seconds to wait."""

    def __init__(self, rate: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.count, self.period = parse_rate(rate)
        self.interval = self.period / self.count
        self.burst = max(1, self.count // 10)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def admit(self, identifier: str = "") -> float | None:
        """Take one token for ``identifier``; None when admitted, else seconds until one is free."""
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(identifier, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) / self.interval)
            if tokens >= 1.0:
                self._buckets[identifier] = (tokens - 1.0, now)
                return None
            self._buckets[identifier] = (tokens, now)
            return (1.0 - tokens) * self.interval

    def fault_text(self) -> str:
        """Apigee's violation message, for the fault body."""
        return (
            f"Spike arrest violation. Allowed rate : MessageRate{{messagesPerPeriod={self.count}, "
            f"periodInMicroseconds={int(self.period * 1_000_000)}, "
            f"maxBurstMessageCount={float(self.burst)}}}"
        )
