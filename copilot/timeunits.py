"""Time units in epoch milliseconds, the unit every timestamp in atc is kept in.

One place for them, so a reader never has to check that ``3_600_000`` here and
``HOUR_MS`` there are the same hour.
"""

from __future__ import annotations

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS

