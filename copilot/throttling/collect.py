"""What replay and the knee need from every request, kept compactly during the one pass.

The analysis keeps aggregates; replaying a limit needs each request's time and
who sent it. :class:`Collector` keeps, per request, int64 epoch ms, a small
proxy id, a party id (app x client id), the outcome code
(``copilot.analysis.outcomes``), the id of the policy that faulted, and the
target time (for the capacity knee): 21 bytes a row, never a DataFrame.
``finish`` sorts them by time once and returns :class:`Requests`, its labels
(proxies, parties, policies, attribute values) the ones used, in sorted order:
the same arrays however the rows were chunked or partitioned (docs/fanout.md).

An attribute read only to tell "the same request again" (the path, when no
bundle condition reads it: ``copilot.throttling.run.collected_attrs``) is asked
for as ``"path" + HASHED`` and kept as a 64-bit hash per request, with no
vocabulary and no labels: a vocabulary of paths held millions of strings on
large logs, and past its limit mapped every new path to one "{other}" label,
so two different paths looked like the same request. Two requests share a hash
iff they share the value (a collision needs ~2^32 distinct values to be likely,
and then only matters between a party's consecutive requests).
"""

from __future__ import annotations

from collections.abc import Iterable

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
# Distinct labels a labelled attribute keeps; later ones all read "{other}" (Vocab).
VOCAB_LIMIT = 1_000_000
# Suffix of an attribute kept as a hash per request ("path:hash"; see module docstring).
HASHED = ":hash"


def attr_spec(spec: Iterable[str]) -> tuple[tuple[str, ...], frozenset[str]]:
    """The ATTRS columns ``spec`` asks for (in ATTRS order), and those of them kept hashed:
    ``"NAME"`` keeps labels, ``"NAME" + HASHED`` a hash only (labels win when both are asked)."""
    spec = set(spec)
    labelled = {a for a in ATTRS if a in spec}
    hashed = {a for a in ATTRS if a + HASHED in spec} - labelled
    return tuple(a for a in ATTRS if a in labelled | hashed), frozenset(hashed)


def extra_columns(spec: Iterable[str]) -> list[str]:
    """The EXTRA_COLUMNS a reader must add to its chunks for the attributes ``spec`` asks for."""
    names, _hashed = attr_spec(spec)
    return [c for c in EXTRA_COLUMNS if c in names]


def hash_values(series: pd.Series) -> np.ndarray:
    """Each value's 64-bit hash (int64) of its text, a missing one that of "" (as the
    labelled ids read them): its categories hashed once, taken by code."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype("category")
    labels = [*map(str, series.cat.categories.tolist()), ""]  # code -1: the trailing ""
    hashes = pd.util.hash_array(np.array(labels, dtype=object)).view(np.int64)
    return hashes[series.cat.codes.to_numpy()]


def _hash_of_nothing(n: int) -> np.ndarray:
    return np.full(n, pd.util.hash_array(np.array([""], dtype=object)).view(np.int64)[0])


class Collector:
    """Fold canonical chunks into compact per-request arrays (see module docstring)."""

    def __init__(self, attrs: Iterable[str] = ATTRS, spill: SpillDir | None = None) -> None:
        """``attrs``: the ATTRS columns to keep (only those some bundle condition reads),
        ``"NAME" + HASHED`` for one kept as a hash per request (:func:`attr_spec`).

        With ``spill``, rows go to per-proxy files there as they come (``finish_source``)."""
        self.attr_names, self.hashed = attr_spec(attrs)
        self._spill = None if spill is None else ProxySpill(spill, self.attr_names, self.hashed)
        self._proxy = Vocab()
        self._app = Vocab()
        self._client = Vocab()
        self._party = Vocab()
        self._policy = Vocab()
        self._policy.id("")
        self._parts: list[tuple[np.ndarray, ...]] = []
        self._codes: dict[str, set[str]] = {}  # fault policy -> fault codes seen
        self._attrs = {n: Vocab(limit=VOCAB_LIMIT) for n in self.attr_names if n not in self.hashed}

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
        attrs = tuple(self._attr(chunk, name) for name in self.attr_names)
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

    def _attr(self, chunk: pd.DataFrame, name: str) -> np.ndarray:
        """One attribute's ids (int32 into its vocabulary) or hashes (int64) for the chunk."""
        if name not in chunk.columns:  # a log format without it
            if name in self.hashed:
                return _hash_of_nothing(len(chunk))
            return np.full(len(chunk), self._attrs[name].id(""), dtype=np.int32)
        if name in self.hashed:
            return hash_values(chunk[name])
        return category_ids(chunk[name], self._attrs[name], missing="").astype(np.int32)

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
            cols += [np.zeros(0, self._attr_dtype(n)) for n in self.attr_names]
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
            name: (cols[7 + i], [])
            if name in self.hashed
            else canonical_ids(cols[7 + i], _strings(self._attrs[name]))
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

    def _attr_dtype(self, name: str) -> type:
        return np.int64 if name in self.hashed else np.int32


def _strings(vocab: Vocab) -> list[str]:
    return [str(v) for v in vocab.labels]
