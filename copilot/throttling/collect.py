"""What replay and the knee need from every request, kept compactly during the one pass.

The analysis keeps aggregates; replaying a limit needs each request's time and
who sent it. :class:`Collector` keeps, per request, int64 epoch ms, a small
proxy id, a party id (app x client id), the outcome code
(``copilot.analysis.outcomes``), the id of the policy that faulted, and the
target time (for the capacity knee): 21 bytes a row, never a DataFrame.
``finish`` sorts them by time once and returns :class:`Requests`, its labels
(proxies, parties, policies, attribute values) the ones used, in sorted order:
the same arrays however the rows were chunked or partitioned (docs/fanout.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from copilot.analysis.chunk import epoch_ms
from copilot.analysis.ids import Vocab, category_ids, tuple_ids
from copilot.analysis.outcomes import outcome_codes

# Canonical columns the collector reads (a subset of the analysis columns).
COLUMNS = (
    "ts",
    "proxy",
    "app",
    "client_id",
    "status",
    "target_status",
    "target_ms",
    "fault_policy",
    "fault_code",
)
# Columns kept only to evaluate a bundle's step and flow conditions on history
# (request.verb, proxy.pathsuffix, client.ip...: copilot.throttling.replay_current).
ATTRS = ("verb", "path", "basepath", "pathsuffix", "client_ip", "api_product")
EXTRA_COLUMNS = ("basepath", "pathsuffix", "client_ip", "api_product")


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
    attrs: dict[str, tuple[np.ndarray, list[str]]] = field(
        default_factory=dict
    )  # ATTRS: ids, labels
    _orders: dict = field(default_factory=dict, repr=False)
    _slices: dict = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        return int(self.ts.size)

    def proxy_id(self, name: str) -> int | None:
        return self.proxies.index(name) if name in self.proxies else None

    def pair_key(self) -> np.ndarray:
        """One int64 per request: proxy x party (computed once)."""
        if "pair_key" not in self._orders:
            width = max(len(self.parties), 1)
            self._orders["pair_key"] = self.proxy.astype(np.int64) * width + self.party
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
            order = np.argsort(keys, kind="stable")  # stable: time order within a key
            sorted_keys = keys[order]
            starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
            starts = starts[: sorted_keys.size]  # no rows, no groups
            ends = np.r_[starts[1:], sorted_keys.size]
            self._orders[name] = order
            self._slices[name] = {
                int(sorted_keys[a]): (int(a), int(b)) for a, b in zip(starts, ends, strict=True)
            }
        a, b = self._slices[name].get(key, (0, 0))
        return self._orders[name][a:b]


class Collector:
    """Fold canonical chunks into compact per-request arrays (see module docstring)."""

    def __init__(self, attrs: tuple[str, ...] = ATTRS) -> None:
        """``attrs``: the ATTRS columns to keep (only those some bundle condition reads)."""
        self.attr_names = tuple(a for a in ATTRS if a in attrs)
        self._proxy = Vocab()
        self._app = Vocab()
        self._client = Vocab()
        self._party = Vocab()
        self._policy = Vocab()
        self._policy.id("")
        self._parts: list[tuple[np.ndarray, ...]] = []
        self._codes: dict[str, set[str]] = {}  # fault policy -> fault codes seen
        self._attrs = {name: Vocab(limit=1_000_000) for name in self.attr_names}

    def add(self, chunk: pd.DataFrame) -> None:
        if len(chunk) == 0:
            return
        ms = epoch_ms(chunk["ts"])
        keep = ms >= 0
        if not keep.all():
            chunk, ms = chunk.loc[keep], ms[keep]
        proxy = category_ids(chunk["proxy"], self._proxy)
        app = category_ids(chunk["app"], self._app)
        client = category_ids(chunk["client_id"], self._client)
        party = tuple_ids([app, client], [len(self._app), len(self._client)], self._party)
        policy = category_ids(chunk["fault_policy"], self._policy, missing="")
        target = chunk["target_ms"].to_numpy(dtype=np.float32, na_value=np.nan)
        self._note_codes(chunk)
        status = pd.to_numeric(chunk["status"], errors="coerce").fillna(0).to_numpy(np.int16)
        attrs = tuple(
            category_ids(chunk[name], self._attrs[name], missing="").astype(np.int32)
            if name in chunk.columns
            else np.full(len(chunk), self._attrs[name].id(""), dtype=np.int32)
            for name in self.attr_names
        )
        self._parts.append(
            (
                ms,
                proxy.astype(np.int16),
                party.astype(np.int32),
                outcome_codes(chunk).astype(np.int8),
                policy.astype(np.int16),
                target,
                status,
                *attrs,
            )
        )

    def _note_codes(self, chunk: pd.DataFrame) -> None:
        names = chunk["fault_policy"].astype("category")
        codes = chunk["fault_code"].astype("category")
        a, b = names.cat.codes.to_numpy(np.int64), codes.cat.codes.to_numpy(np.int64)
        width = len(codes.cat.categories) + 1
        for pair in np.unique((a + 1) * width + (b + 1)).tolist():
            i, j = divmod(pair, width)
            if i and j:
                name = str(names.cat.categories[i - 1])
                self._codes.setdefault(name, set()).add(str(codes.cat.categories[j - 1]))

    def finish(self) -> Requests:
        """The requests so far, sorted by time."""
        if self._parts:
            cols = [np.concatenate(c) for c in zip(*self._parts, strict=True)]
        else:
            cols = [np.zeros(0, t) for t in (np.int64, np.int16, np.int32, np.int8, np.int16)]
            cols.append(np.zeros(0, np.float32))
            cols.append(np.zeros(0, np.int16))
            cols += [np.zeros(0, np.int32) for _ in self.attr_names]
        self._parts = [tuple(cols)] if cols[0].size else []
        ts = cols[0]
        if ts.size > 1 and not (ts[1:] >= ts[:-1]).all():
            order = np.argsort(ts, kind="stable")
            cols = [c[order] for c in cols]
        apps, clients = self._app.labels, self._client.labels
        parties = [(str(apps[a]), str(clients[c])) for a, c in self._party.labels]
        cols[1], proxies = canonical_ids(cols[1], [str(p) for p in self._proxy.labels])
        cols[2], parties = canonical_ids(cols[2], parties)
        cols[4], policies = canonical_ids(cols[4], [str(p) for p in self._policy.labels], "")
        attrs = {
            name: canonical_ids(cols[7 + i], [str(v) for v in self._attrs[name].labels])
            for i, name in enumerate(self.attr_names)
        }
        return Requests(
            *cols[:6],
            status=cols[6],
            attrs=attrs,
            proxies=proxies,
            parties=parties,
            policies=policies,
            fault_codes={k: tuple(sorted(v)) for k, v in sorted(self._codes.items())},
        )


def canonical_ids(ids: np.ndarray, labels: list, always: object = None) -> tuple[np.ndarray, list]:
    """``ids`` into ``labels`` renumbered so the labels used are in sorted order.

    Vocabularies grow in first-seen order chunk by chunk (each chunk's categories
    in their own order), so raw ids depend on where chunks and partitions end;
    the used labels, sorted, do not: one pass and a merge of partitions give the
    same ``Requests`` whatever the cuts. ``always`` (the "no fault" policy) is
    kept even when unused.
    """
    used = np.bincount(ids, minlength=len(labels)) > 0 if ids.size else np.zeros(len(labels), bool)
    if always is not None and always in labels:
        used[labels.index(always)] = True
    kept = sorted((labels[i], i) for i in np.flatnonzero(used).tolist())
    lut = np.zeros(max(len(labels), 1), dtype=ids.dtype)
    lut[[i for _, i in kept]] = np.arange(len(kept), dtype=ids.dtype)
    return lut[ids], [label for label, _ in kept]
