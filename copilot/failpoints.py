"""Fault injection for durability tests: stop the process hard at a named point.

``ATC_FAILPOINTS=name[,name...]`` makes :func:`hit` end the process at once
with ``os._exit(137)`` (what ``kill -9`` looks like to the parent) when one
of the names is reached; unset, :func:`hit` does nothing. Tests use it to
lose an activity's completion after its write committed, on a real worker.
"""

from __future__ import annotations

import os
import sys


def hit(name: str) -> None:
    """End the process here if ``name`` is armed in ``ATC_FAILPOINTS``."""
    armed = os.environ.get("ATC_FAILPOINTS", "")
    if name and name in {a.strip() for a in armed.split(",")}:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(137)
