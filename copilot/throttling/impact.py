"""What a replay rejected, as a suggestion reports it: how many, of whom, and when.

:class:`Rejections` holds the counts however they were gathered (a stream in memory,
``copilot.throttling.sizing.impact``, or on disk, summed piece by piece in
``copilot.throttling.sliced``); :meth:`Rejections.impact` writes the :class:`Impact`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from copilot.throttling.options import REJECT_SHARE
from copilot.timeunits import HOUR_MS, MINUTE_MS


@dataclass
class Impact:
    """What a limit would have rejected: how many, of whom, and when."""

    seen: int
    rejected: int
    counted: int
    counted_rejected: int
    excluded_rejected: int  # legitimate requests rejected inside excluded windows
    abusive_rejected: int
    by_client: list[dict]
    by_hour: list[dict]
    per_minute: pd.Series  # rejected requests per minute (for charts)
    first: pd.Timestamp | None
    last: pd.Timestamp | None

    @property
    def share(self) -> float:
        """Rejected share of healthy legitimate requests (the 0.1 % rule)."""
        return self.counted_rejected / self.counted if self.counted else 0.0

    def to_dict(self) -> dict:
        return {
            "requests_seen": self.seen,
            "rejected": self.rejected,
            "legit_healthy_requests": self.counted,
            "legit_healthy_rejected": self.counted_rejected,
            "legit_healthy_rejected_share": round(self.share, 6),
            "within_rule": self.share <= REJECT_SHARE,
            "legit_rejected_in_excluded_windows": self.excluded_rejected,
            "abusive_rejected": self.abusive_rejected,
            "clients": self.by_client,
            "busiest_hours": self.by_hour,
            "first": None if self.first is None else self.first.isoformat(),
            "last": None if self.last is None else self.last.isoformat(),
        }


@dataclass
class Rejections:
    """The counts an :class:`Impact` is written from, however they were gathered."""

    seen: int
    rejected: int
    counted: int
    counted_rejected: int
    excluded_rejected: int
    abusive_rejected: int
    parties: np.ndarray  # the parties with rejections, ascending
    per_party: np.ndarray  # their rejections
    bad: set[int]  # parties with abusive requests rejected
    hours: tuple[np.ndarray, np.ndarray]  # rejections per hour (hours ascending)
    minutes: tuple[np.ndarray, np.ndarray]  # rejections per minute (minutes ascending)
    first: int | None  # epoch ms of the first and last rejection
    last: int | None

    def impact(self, labels: list[tuple[str, str]], top: int = 10) -> Impact:
        """The :class:`Impact`, with the ``top`` clients and hours (``labels``: the parties)."""
        pairs = zip(self.per_party.tolist(), self.parties.tolist(), strict=True)
        by_client = [
            {
                "app": labels[p][0],
                "client_id": labels[p][1],
                "rejected": int(n),
                "abusive": p in self.bad,
            }
            for n, p in sorted(pairs, reverse=True)[:top]
        ]
        hours, per_hour = self.hours
        busiest = np.argsort(-per_hour, kind="stable")[:top]
        by_hour = [
            {
                "hour": pd.Timestamp(int(hours[i]) * HOUR_MS, unit="ms", tz="UTC").isoformat(),
                "rejected": int(per_hour[i]),
            }
            for i in busiest
        ]
        minutes, per_minute = self.minutes
        series = pd.Series(
            per_minute,
            index=pd.to_datetime(minutes * MINUTE_MS, unit="ms", utc=True),
            dtype="int64",
        )
        return Impact(
            seen=self.seen,
            rejected=self.rejected,
            counted=self.counted,
            counted_rejected=self.counted_rejected,
            excluded_rejected=self.excluded_rejected,
            abusive_rejected=self.abusive_rejected,
            by_client=by_client,
            by_hour=by_hour,
            per_minute=series,
            first=_stamp(self.first),
            last=_stamp(self.last),
        )


def _stamp(ms: int | None) -> pd.Timestamp | None:
    return None if ms is None else pd.Timestamp(ms, unit="ms", tz="UTC")
