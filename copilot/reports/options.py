"""Report options the CLI (``atc reports schedule``) and the dashboard both offer, defined once."""

from __future__ import annotations

FORMATS = ("html", "md", "csv")
# A missed schedule slot (worker or Temporal down) still runs if it is this late at most.
CATCHUP_WINDOW = "1h"
# The interval offered first (dashboard default, CLI example).
SUGGESTED_EVERY = "24h"
