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

import numpy as np
import pandas as pd

from copilot.analysis.chunk import epoch_ms
from copilot.analysis.ids import Vocab, category_ids, tuple_ids
from copilot.analysis.outcomes import outcome_codes
from copilot.spill import SpillDir
from copilot.throttling.requests import Requests, canonical_ids
from copilot.throttling.spilled import InMemory, ProxySpill, Source, SpilledRequests

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


class Collector:
    """Fold canonical chunks into compact per-request arrays (see module docstring)."""

    def __init__(self, attrs: tuple[str, ...] = ATTRS, spill: SpillDir | None = None) -> None:
        """``attrs``: the ATTRS columns to keep (only those some bundle condition reads).

        With ``spill``, rows go to per-proxy files there as they come (``finish_source``)."""
        self.attr_names = tuple(a for a in ATTRS if a in attrs)
        self._spill = None if spill is None else ProxySpill(spill, self.attr_names)
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
        (self._parts.append if self._spill is None else self._spill.add)(
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

    def finish_source(self) -> Source:
        """The requests so far as a source of per-proxy shares (spilled or in memory)."""
        if self._spill is None:
            return InMemory(self.finish())
        apps, clients = self._app.labels, self._client.labels
        return SpilledRequests.of(
            self._spill,
            {"proxy": _strings(self._proxy), "policy": _strings(self._policy)}
            | {f"attr.{n}": _strings(v) for n, v in self._attrs.items()},
            [(str(apps[a]), str(clients[c])) for a, c in self._party.labels],
            self._fault_codes(),
        )

    def _fault_codes(self) -> dict[str, tuple[str, ...]]:
        return {k: tuple(sorted(v)) for k, v in sorted(self._codes.items())}

    def finish(self) -> Requests:
        """The requests so far, sorted by time (not when spilled: ``finish_source``)."""
        if self._spill is not None:
            raise ValueError("a spilling collector's requests are read with finish_source()")
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
            fault_codes=self._fault_codes(),
        )


def _strings(vocab: Vocab) -> list[str]:
    return [str(v) for v in vocab.labels]
