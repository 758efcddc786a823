"""Every request as parallel arrays (:class:`Requests`) and their canonical labels.

The collector (``copilot.throttling.collect``) builds them in one pass; a
spilled estate (``copilot.throttling.spilled``) loads one proxy's share at a
time. Labels (proxies, parties, policies, attribute values) are the ones
used, in sorted order: the same arrays however the rows were chunked,
partitioned or spilled (docs/fanout.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from copilot.analysis.rates import group_starts


def index_dtype(n: int) -> type[np.signedinteger]:
    """int32 for indices (or keys) below ``n`` when it fits, else int64: the row indices kept
    for every request are half the memory."""
    return np.int32 if n < 2**31 else np.int64


def lean_columns(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Stand-ins for ``n`` requests' target times (NaN) and statuses (0: not logged) where
    no stage reads them: read-only views of one value, no memory, and writing to one
    fails loudly. The knee reads target times; the current limits' conditions statuses and
    attributes; nothing else does."""
    return (
        np.broadcast_to(np.float32(np.nan), (n,)),
        np.broadcast_to(np.int16(0), (n,)),
    )


@dataclass
class Requests:
    """Every request as parallel arrays, sorted by time (ties in arrival order)."""

    ts: np.ndarray  # int64 epoch ms
    proxy: np.ndarray  # int16 index into proxies
    party: np.ndarray  # int32 index into parties
    outcome: np.ndarray  # int8 outcome code (class * 2 + backend_429)
    policy: np.ndarray  # int16 index into policies ('' = no fault)
    target_ms: np.ndarray  # float32, NaN when the target was not reached
    proxies: list[str]
    parties: list[tuple[str, str]]  # (app, client id)
    policies: list[str]
    fault_codes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # policy -> codes
    status: np.ndarray | None = None  # int16 response status (conditions on response.status.code)
    # ATTRS: (int32 ids, labels), or for one kept hashed (collect.HASHED: the path when no
    # condition reads it) (int64 hashes, []): compare those, never index labels with them
    attrs: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict)
    # Whether any request of the whole estate logged a status (one proxy's share may not)
    status_anywhere: bool | None = None
    _orders: dict = field(default_factory=dict, repr=False)
    _slices: dict = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        return int(self.ts.size)

    def status_logged(self) -> bool:
        """Some request of the estate these requests belong to logged a response status."""
        if self.status_anywhere is not None:
            return self.status_anywhere
        return self.status is not None and bool((self.status > 0).any())

    def subset(self, rows: np.ndarray, lean: bool = False) -> Requests:
        """The requests ``rows`` (in that order) with the same labels: one proxy's share.

        ``lean``: without target times, statuses and attributes (see :func:`lean_columns`)."""
        target, status = (self.target_ms[rows], self.status) if not lean else lean_columns(rows.size)
        if self.status is not None and not lean:
            status = self.status[rows]
        return Requests(
            self.ts[rows], self.proxy[rows], self.party[rows], self.outcome[rows],
            self.policy[rows], target, self.proxies, self.parties, self.policies,
            self.fault_codes,
            status=None if self.status is None else status,
            attrs={} if lean else {k: (ids[rows], labels) for k, (ids, labels) in self.attrs.items()},
            status_anywhere=self.status_logged(),
        )  # fmt: skip

    def proxy_id(self, name: str) -> int | None:
        return self.proxies.index(name) if name in self.proxies else None

    def pair_key(self) -> np.ndarray:
        """One int per request: proxy x party (computed once; int32 while it fits)."""
        if "pair_key" not in self._orders:
            width = max(len(self.parties), 1)
            dtype = index_dtype(len(self.proxies) * width)
            self._orders["pair_key"] = self.proxy.astype(dtype) * dtype(width) + self.party
        return self._orders["pair_key"]

    def rows_of_proxy(self, proxy: int) -> np.ndarray:
        """Indices of one proxy's requests, in time order."""
        return self._rows("proxy", lambda: self.proxy, proxy)

    def rows_of_pair(self, proxy: int, party: int) -> np.ndarray:
        """Indices of one party's requests on one proxy, in time order."""
        return self._rows("pair", self.pair_key, proxy * max(len(self.parties), 1) + party)

    def pairs(self) -> list[tuple[int, int]]:
        """Every (proxy id, party id) present."""
        self._rows("pair", self.pair_key, -1)
        n = max(len(self.parties), 1)
        return [(int(k // n), int(k % n)) for k in self._slices["pair"]]

    def _rows(self, name: str, keys_of, key: int) -> np.ndarray:
        if name not in self._orders:
            keys = keys_of()
            if keys.size < 2 or bool((keys[1:] >= keys[:-1]).all()):  # one proxy's share
                order = np.arange(keys.size, dtype=index_dtype(keys.size))
            else:  # stable: time order within a key
                order = np.argsort(keys, kind="stable").astype(index_dtype(keys.size))
            sorted_keys = keys[order]
            starts = group_starts(sorted_keys)  # no rows, no groups
            ends = np.r_[starts[1:], sorted_keys.size][: starts.size]
            self._orders[name] = order
            self._slices[name] = {
                int(sorted_keys[a]): (int(a), int(b)) for a, b in zip(starts, ends, strict=True)
            }
        a, b = self._slices[name].get(key, (0, 0))
        return self._orders[name][a:b]


def canonical_ids(ids: np.ndarray, labels: list, always: object = None) -> tuple[np.ndarray, list]:
    """``ids`` into ``labels`` renumbered so the labels used are in sorted order.

    Vocabularies grow in first-seen order chunk by chunk (each chunk's categories
    in their own order), so raw ids depend on where chunks and partitions end;
    the used labels, sorted, do not: one pass and a merge of partitions give the
    same ``Requests`` whatever the cuts. ``always`` (the "no fault" policy) is
    kept even when unused.
    """
    used = np.bincount(ids, minlength=len(labels)) > 0 if ids.size else np.zeros(len(labels), bool)
    lut, kept = canonical_lut(used, labels, ids.dtype, always)
    return lut[ids], kept


def canonical_lut(
    used: np.ndarray, labels: list, dtype: np.dtype | type, always: object = None
) -> tuple[np.ndarray, list]:
    """(raw id -> canonical id, canonical labels): the ``used`` labels, sorted (see above)."""
    used = used.copy()
    if always is not None and always in labels:
        used[labels.index(always)] = True
    kept = sorted((labels[i], i) for i in np.flatnonzero(used).tolist())
    lut = np.zeros(max(len(labels), 1), dtype=dtype)
    lut[[i for _, i in kept]] = np.arange(len(kept), dtype=dtype)
    return lut, [label for label, _ in kept]
