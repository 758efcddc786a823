"""Is Temporal there? One cheap probe, and the sentence a page shows when it is not."""

from __future__ import annotations

import asyncio

from copilot.config import Settings
from copilot.errors import AtcError

PROBE_S = 1.5
NOT_REACHABLE = (
    "Temporal is not reachable at {address}, so {what} cannot be shown; "
    "start it and the workers with `make run`, then reload this page."
)


def temporal_problem(settings: Settings, what: str) -> str | None:
    """None when Temporal answers, else one sentence saying so and what to do."""
    from copilot.temporal_connect import connect

    try:
        asyncio.run(connect(settings, within_s=PROBE_S))
    except AtcError:
        return NOT_REACHABLE.format(address=settings.temporal_address, what=what)
    return None
