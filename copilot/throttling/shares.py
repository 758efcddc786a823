"""A proxy's share in time slices: what the advice reads when a share is too large to hold.

A source (``copilot.throttling.spilled``) loads one proxy's share whole when it
has at most ``SHARE_ROWS`` requests; a larger share is read in consecutive time
slices of about ``SLICE_ROWS`` rows (:class:`Slice`), each stage carrying what
crosses a slice's edge (docs/fanout.md, 'Memory'). A slice never splits one
millisecond, so "the requests at this instant" are always in one slice. Stages
may write per-request results (a collapsed retry, say) as *derived* columns,
slice by slice in share order, and read them back with later slices.
:class:`InMemory` gives the shares of requests already in memory (tests, small runs).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from copilot.throttling.requests import Requests

SLICE_ROWS = 1 << 18  # rows per slice: a slice's temporaries stay a few tens of MB
# A share above this many requests is advised in time slices. Held whole, a share costs
# about 110 bytes a request with what the sizing builds over it: past one slice's worth,
# slicing is what keeps the peak where the slices keep it.
SHARE_ROWS = SLICE_ROWS


@dataclass
class Slice:
    """Consecutive requests of one proxy's share, in time order, with the share's labels."""

    req: Requests
    start: int  # index of the slice's first request in the share
    derived: dict[str, np.ndarray] = field(default_factory=dict)  # name -> value per request

    @property
    def stop(self) -> int:
        return self.start + self.req.size


def cuts(ts: np.ndarray, rows: int) -> list[tuple[int, int]]:
    """(start, stop) of consecutive slices of sorted ``ts`` with about ``rows`` rows each,
    each ending between two distinct times (a millisecond holding more stays whole)."""
    out, start, n = [], 0, int(ts.size)
    while start < n:
        stop = min(start + max(rows, 1), n)
        if stop < n:  # move the cut past every request of the millisecond it falls in
            stop = int(np.searchsorted(ts, ts[stop - 1], side="right"))
        out.append((start, stop))
        start = stop
    return out


def slice_of(req: Requests, start: int, stop: int) -> Requests:
    """Rows ``start:stop`` of a time-ordered share (views, same labels)."""
    return Requests(
        req.ts[start:stop], req.proxy[start:stop], req.party[start:stop],
        req.outcome[start:stop], req.policy[start:stop], req.target_ms[start:stop],
        req.proxies, req.parties, req.policies, req.fault_codes,
        status=None if req.status is None else req.status[start:stop],
        attrs={k: (ids[start:stop], labels) for k, (ids, labels) in req.attrs.items()},
        status_anywhere=req.status_logged(),
    )  # fmt: skip


def in_slices(
    share: Requests, rows: int, derived: dict[str, np.ndarray] | None = None
) -> Iterator[Slice]:
    """A loaded share cut into :class:`Slice` s (``derived``: whole-share columns to cut too)."""
    for a, b in cuts(share.ts, rows):
        yield Slice(slice_of(share, a, b), a, {k: v[a:b] for k, v in (derived or {}).items()})


@dataclass
class InMemory:
    """An in-memory :class:`Requests` seen as a source of per-proxy shares."""

    req: Requests

    def __post_init__(self) -> None:
        r = self.req
        self.proxies, self.parties, self.policies = r.proxies, r.parties, r.policies
        self.fault_codes = r.fault_codes
        self.counts = np.bincount(r.proxy, minlength=len(r.proxies)).astype(np.int64)
        self.span = (int(r.ts[0]), int(r.ts[-1])) if r.size else None
        self.status_anywhere = r.status_logged()
        self._derived: dict[tuple[int, str], np.ndarray] = {}

    @property
    def size(self) -> int:
        return self.req.size

    def load(self, proxy: int, lean: bool = False) -> Requests:
        return self.req.subset(self.req.rows_of_proxy(proxy), lean)

    def slices(
        self, proxy: int, rows: int = SLICE_ROWS, lean: bool = False, derived: tuple[str, ...] = ()
    ) -> Iterator[Slice]:
        """The proxy's share in time slices (``copilot.throttling.shares``), with the derived
        columns ``derived`` written so far."""
        cols = {name: self._derived[(proxy, name)] for name in derived}
        yield from in_slices(self.load(proxy, lean), rows, cols)

    def append_derived(self, proxy: int, name: str, values: np.ndarray) -> None:
        """Append the next slice's values of a derived column of the proxy's share."""
        key = (proxy, name)
        self._derived[key] = np.concatenate([self._derived.get(key, values[:0]), values])
