"""Fault injection for durability tests: stop the process hard at a named point.

``ATC_FAILPOINTS=name[,name...]`` makes :func:`hit` end the process at once
with ``os._exit(137)`` (what ``kill -9`` looks like to the parent) when one
of the names is reached; unset, :func:`hit` does nothing. Tests use it to
lose an activity's completion after its write committed, on a real worker.
``name@SECONDS`` waits that long first, while the process's other threads go
on (a heartbeat the SDK holds back reaches the server), then ends it.
"""

from __future__ import annotations

import os
import sys
import time


def _armed() -> dict[str, float]:
    out = {}
    for item in os.environ.get("ATC_FAILPOINTS", "").split(","):
        name, _, delay = item.strip().partition("@")
        if name:
            out[name] = float(delay or 0)
    return out


def hit(name: str) -> None:
    """End the process here if ``name`` is armed in ``ATC_FAILPOINTS``."""
    delay = _armed().get(name) if name else None
    if delay is None:
        return
    if delay > 0:
        time.sleep(delay)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(137)
