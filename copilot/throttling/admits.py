"""Admitted requests per client and clock hour, over every proxy: what a Quota allowed.

:func:`copilot.throttling.current.infer_hourly_allow` reads a quota's allowance
from the logs as the most requests admitted to one client (party) in a clock
hour in which that quota also refused it, on any proxy. The evidence is
gathered one proxy at a time (``copilot.throttling.evidence``): first the
hours each policy faulted for each party (:meth:`add_hits`), then, once every
proxy's hits are known, the admitted requests of those hours
(:meth:`add_admitted`). Both are sums, so the order of proxies does not matter.
"""

from __future__ import annotations

import numpy as np

from copilot.throttling.requests import Requests
from copilot.timeunits import HOUR_MS

_HOUR_BITS = 32  # unix hours stay below 2**32


class HourlyAdmits:
    """Per (party, policy): hours it faulted; per (party, such hour): admitted requests."""

    def __init__(self, policies: int) -> None:
        self.policies = max(policies, 1)
        self._hits: list[np.ndarray] = []
        self.hits = np.zeros(0, np.int64)  # (party * policies + policy) << 32 | hour
        self._hours = np.zeros(0, np.int64)  # party << 32 | hour, of any hit
        self._admitted: list[tuple[np.ndarray, np.ndarray]] = []
        self.admitted: tuple[np.ndarray, np.ndarray] | None = None

    def add_hits(self, req: Requests) -> None:
        """The hours each policy that faulted (logged a fault) met each party."""
        rows = np.flatnonzero(req.policy != 0)  # 0: no fault ('' sorts first)
        pair = req.party[rows].astype(np.int64) * self.policies + req.policy[rows]
        self._hits.append(np.unique(pair << _HOUR_BITS | req.ts[rows] // HOUR_MS))

    def seal_hits(self) -> None:
        """Every proxy's hits are in: admitted requests are counted from now on."""
        self.hits = np.unique(np.concatenate([self.hits, *self._hits]))
        self._hits = []
        party = (self.hits >> _HOUR_BITS) // self.policies
        self._hours = np.unique(party << _HOUR_BITS | (self.hits & ((1 << _HOUR_BITS) - 1)))

    def add_admitted(self, req: Requests, refused: np.ndarray) -> None:
        """Admitted (not refused) requests in the hours some policy hit their party."""
        key = req.party.astype(np.int64) << _HOUR_BITS | req.ts // HOUR_MS
        keep = ~refused & np.isin(key, self._hours)
        self._admitted.append(np.unique(key[keep], return_counts=True))

    def infer(self, party: int, policy: int) -> int | None:
        """Most admitted in an hour ``policy`` hit ``party``; None when it never did."""
        if self.admitted is None:
            keys = np.concatenate([k for k, _ in self._admitted] or [np.zeros(0, np.int64)])
            counts = np.concatenate([c for _, c in self._admitted] or [np.zeros(0, np.int64)])
            uniq, inverse = np.unique(keys, return_inverse=True)
            self.admitted = (uniq, np.bincount(inverse, weights=counts).astype(np.int64))
        lo = (party * self.policies + policy) << _HOUR_BITS
        a, b = np.searchsorted(self.hits, [lo, lo + (1 << _HOUR_BITS)])
        if a == b:
            return None
        hours = self.hits[a:b] & ((1 << _HOUR_BITS) - 1)
        keys, counts = self.admitted
        want = party << _HOUR_BITS | hours
        at = np.minimum(np.searchsorted(keys, want), max(keys.size - 1, 0))
        found = keys[at] == want if keys.size else np.zeros(want.size, bool)
        return int(np.where(found, counts[at] if keys.size else 0, 0).max())
