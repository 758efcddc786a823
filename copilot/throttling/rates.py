"""Apigee rate strings, quota time units and the rounding of suggested numbers.

SpikeArrest ``<Rate>`` is ``Nps`` or ``Npm`` with N a positive integer
(docs.apigee.com/api-platform/reference/policies/spike-arrest-policy); its
smoothing enforces one request per ``period / N`` with a burst allowance of
about a tenth of the rate (docs/apigee.md, 'Throttling policies': fault text
``messagesPerPeriod=300 ... maxBurstMessageCount=30``). Quota ``<TimeUnit>``
is one of minute, hour, day, week, month and ``type`` one of calendar,
rollingwindow, flexi or absent (the default, reset at the top of the unit)
(cloud.google.com/apigee/docs/api-platform/reference/policies/quota-policy).
apigeelint does not check these values (docs/apigee.md, 'Throttling policies'),
so atc does, here.
"""

from __future__ import annotations

import math
import re

from copilot.errors import InputError
from copilot.scopes.spikearrest import parse_rate
from copilot.timeunits import DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS

__all__ = [
    "QUOTA_TYPES",
    "TIME_UNITS",
    "UNIT_MS",
    "burst_allowance",
    "format_rate",
    "is_valid_rate",
    "parse_rate",
    "per_minute",
    "tier_up",
]

TIME_UNITS = ("minute", "hour", "day", "week", "month")
UNIT_MS = {"minute": MINUTE_MS, "hour": HOUR_MS, "day": DAY_MS, "week": WEEK_MS}
QUOTA_TYPES = ("calendar", "rollingwindow", "flexi", "default")
_RATE = re.compile(r"^[1-9][0-9]*(ps|pm)$")
_TIERS = (1.0, 1.5, 2.0, 3.0, 5.0, 7.5)


def is_valid_rate(rate: str) -> bool:
    """True for a well-formed SpikeArrest rate such as ``10ps`` or ``300pm``."""
    return bool(_RATE.match(rate))


def format_rate(count: int, unit: str) -> str:
    """``(80, "pm")`` -> ``"80pm"``; refuses what Apigee would refuse."""
    if unit not in ("ps", "pm") or int(count) < 1:
        raise InputError(f"cannot write a SpikeArrest rate of {count}{unit}")
    return f"{int(count)}{unit}"


def per_minute(rate: str) -> float:
    """Requests per minute a rate string allows on average."""
    count, period_s = parse_rate(rate)
    return count * 60.0 / period_s


def burst_allowance(count: int) -> int:
    """Apigee's SpikeArrest burst bucket: about a tenth of the rate, at least one."""
    return max(1, int(count) // 10)


def tier_up(value: float) -> int:
    """The smallest tier (1, 1.5, 2, 3, 5, 7.5 x 10^k, integers) at or above ``value``.

    Quotas are contracts: round numbers read better and leave headroom.
    """
    if value <= 1:
        return 1
    exp = 10 ** math.floor(math.log10(value))
    for step in (*_TIERS, 10.0):
        candidate = step * exp
        if candidate >= value and candidate == int(candidate):
            return int(candidate)
    return int(math.ceil(value))
