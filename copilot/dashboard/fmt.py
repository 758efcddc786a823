"""How the dashboard writes numbers and times: rates as ``6/min`` or ``13/s``, times in UTC, 24-hour."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd

UTC_MINUTE = "%Y-%m-%d %H:%M UTC"
# Vega-Lite: a UTC time unit makes the scale and every label UTC, whatever the browser's zone.
CHART_TIME_UNIT = "utcyearmonthdatehoursminutes"
# A tick at midnight shows the date; every other tick the 24-hour time.
CHART_TIME_LABEL = (
    "utchours(datum.value) == 0 && utcminutes(datum.value) == 0"
    " ? utcFormat(datum.value, '%d %b') : utcFormat(datum.value, '%H:%M')"
)
CHART_TOOLTIP_FORMAT = "%Y-%m-%d %H:%M UTC"
# The time resolutions a chart offers: label -> pandas frequency.
RESOLUTIONS = {"1 min": "1min", "5 min": "5min", "15 min": "15min", "1 hour": "1h"}


def number(value: float) -> str:
    """A count or rate without false precision: 13, 6.5, 0.42."""
    if value >= 10 or value == int(value):
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2g}"


def rounded(value: float | None, whole_from: float = 10) -> float | None:
    """A number for a numeric table column, rounded as :func:`number` writes it; None for none.

    Whole from ``whole_from`` up (``1`` for estimates in requests per minute, as
    :func:`rpm` writes them), one decimal from 1, else two significant digits.
    The column stays numeric, so it sorts as numbers; its format adds the unit.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    value = float(value)
    if value >= whole_from or value == int(value):
        return float(round(value))
    if value >= 1:
        return round(value, 1)
    return float(f"{value:.2g}")


def rate(value: float | None, per: str = "min") -> str:
    """A rate as people write it: ``6/min``, ``13/s``; ``unknown`` when there is none.

    ``per`` is the unit ``value`` is counted in (``s``, ``min`` or ``h``). A rate
    below one per unit is shown in the next larger unit, so ``0.1/s`` reads ``6/min``.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown"
    if per == "s" and 0 < value < 1:
        return rate(value * 60, "min")
    if per == "min" and 0 < value < 1:
        return rate(value * 60, "h")
    return f"{number(value)}/{per}"


def rpm(value: float | None) -> str:
    """An estimate in requests per minute (forecast peak, knee, limit): whole from 1/min up.

    The advice's rationale writes these whole (``9.46`` reads ``9``), so the
    dashboard does too: the same number reads the same everywhere. Below one
    per minute it falls back to :func:`rate` (``0.5`` reads ``30/h``).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown"
    if value >= 1:
        return f"{value:,.0f}/min"
    return rate(value)


def policy_rate(text: str | None) -> str:
    """An Apigee rate (``600pm``, ``20ps``) as ``600/min`` or ``20/s``; other text unchanged."""
    if not text:
        return "unknown"
    units = {"ps": "s", "pm": "min"}
    for suffix, per in units.items():
        head = text[: -len(suffix)]
        if text.endswith(suffix) and head.replace(".", "", 1).isdigit():
            return f"{number(float(head))}/{per}"
    return text


def utc_time(when: datetime | pd.Timestamp | str | None) -> str:
    """``2026-11-19 17:40 UTC`` (naive values are taken as UTC); ``–`` for none."""
    if when is None or when is pd.NaT:
        return "–"
    stamp = pd.Timestamp(when)
    if pd.isna(stamp):
        return "–"
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime(UTC_MINUTE)


def utc_range(start: datetime | pd.Timestamp, end: datetime | pd.Timestamp) -> str:
    """``2026-11-16 00:00 → 2026-11-22 23:59 UTC``."""
    return f"{utc_time(start)[:-4]} → {utc_time(end)}"


def share(value: float | None, digits: int = 1) -> str:
    """A share as a percentage; ``–`` for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{100 * value:.{digits}f}%"
