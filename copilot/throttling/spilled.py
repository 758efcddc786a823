"""The collected requests on disk, partitioned by proxy: memory holds one proxy at a time.

Every stage of the advice but a few sums reads one proxy's requests
(docs/fanout.md, 'Memory'), so the collector can write each chunk's rows to
that proxy's raw column files (:class:`ProxySpill`) instead of keeping them,
and the advice loads one proxy's share at a time (:class:`SpilledRequests`).
A share is what the in-memory :class:`~copilot.throttling.requests.Requests`
of the whole estate would give for that proxy (:class:`InMemory`): the same
rows in the same order (time, ties in arrival order) with the same labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from copilot import spill
from copilot.analysis.rates import group_starts
from copilot.throttling.requests import Requests, canonical_lut, lean_columns
from copilot.throttling.shares import SLICE_ROWS, Slice, in_slices

# name, dtype of each spilled column after the proxy's (attributes follow as "attr.NAME")
COLUMNS = (
    ("ts", np.int64),
    ("party", np.int32),
    ("outcome", np.int8),
    ("policy", np.int16),
    ("target_ms", np.float32),
    ("status", np.int16),
)
ATTR_DTYPE = np.int32
_LEAN = ("ts", "party", "outcome", "policy")  # what a lean load reads


class ProxySpill:
    """Writes each chunk's rows to its proxy's column files, noting the labels they use."""

    def __init__(self, directory: spill.SpillDir, attr_names: tuple[str, ...]) -> None:
        self.dir = directory
        self.names = [n for n, _ in COLUMNS] + [f"attr.{a}" for a in attr_names]
        self.rows: dict[int, int] = {}  # raw proxy id -> rows written
        self.seen: dict[str, np.ndarray] = {}  # column -> raw ids used
        self.span: tuple[int, int] | None = None
        self.status_anywhere = False

    def add(self, cols: tuple[np.ndarray, ...]) -> None:
        """One chunk: (ms, proxy, party, outcome, policy, target, status, *attrs), raw ids."""
        ms, proxy, rest = cols[0], cols[1], (cols[0], *cols[2:])
        if ms.size == 0:
            return  # every row of the chunk was dropped (no usable time)
        lo, hi = int(ms.min()), int(ms.max())
        self.span = (lo, hi) if self.span is None else (min(self.span[0], lo), max(self.span[1], hi))
        self.status_anywhere |= bool((cols[6] > 0).any())
        for name, values in zip(self.names, rest, strict=True):
            if name in ("party", "policy") or name.startswith("attr."):
                self._note(name, values)
        order = np.argsort(proxy, kind="stable")  # stable: arrival order within a proxy
        keys = proxy[order]
        starts = group_starts(keys)
        for a, b in zip(starts, np.r_[starts[1:], keys.size], strict=True):
            raw, rows = int(keys[a]), order[a:b]
            self.rows[raw] = self.rows.get(raw, 0) + rows.size
            for name, values in zip(self.names, rest, strict=True):
                spill.append(self.dir.file(f"raw.{raw}.{name}"), values[rows])

    def _note(self, name: str, ids: np.ndarray) -> None:
        seen = self.seen.get(name, np.zeros(0, bool))
        top = int(ids.max()) + 1 if ids.size else 0
        if top > seen.size:
            seen = np.r_[seen, np.zeros(max(top - seen.size, seen.size), bool)]
        seen[ids] = True
        self.seen[name] = seen


@dataclass
class SpilledRequests:
    """The estate's requests on disk: :meth:`load` one proxy's share (see module docstring)."""

    dir: spill.SpillDir
    proxies: list[str]
    parties: list[tuple[str, str]]
    policies: list[str]
    fault_codes: dict[str, tuple[str, ...]]
    attr_labels: dict[str, list[str]]
    counts: np.ndarray  # rows per (canonical) proxy
    span: tuple[int, int] | None  # first and last epoch ms of the estate
    status_anywhere: bool
    _raw: list[int] = field(repr=False, default_factory=list)  # canonical -> raw proxy id
    _luts: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    _names: list[str] = field(repr=False, default_factory=list)
    _sorted: set[int] = field(repr=False, default_factory=set)

    @classmethod
    def of(
        cls,
        writer: ProxySpill,
        vocabs: dict[str, list[str]],
        parties: list[tuple[str, str]],
        fault_codes: dict[str, tuple[str, ...]],
    ) -> SpilledRequests:
        """The source for what ``writer`` wrote; ``vocabs``: the proxy, policy and attr.*
        labels of the raw ids written."""
        raw_proxies = vocabs["proxy"]
        used = np.zeros(len(raw_proxies), bool)
        used[list(writer.rows)] = True
        _, proxies = canonical_lut(used, raw_proxies, np.int16)
        raw = [raw_proxies.index(p) for p in proxies]
        luts, labels = {}, {}
        for name, all_labels, always in (
            ("party", parties, None),
            ("policy", vocabs["policy"], ""),
            *((n, vocabs[n], None) for n in writer.names[6:]),
        ):
            seen = writer.seen.get(name, np.zeros(0, bool))
            used = np.zeros(len(all_labels), bool)
            used[: min(seen.size, used.size)] = seen[: used.size]
            dtype = dict(COLUMNS).get(name, ATTR_DTYPE)
            luts[name], labels[name] = canonical_lut(used, all_labels, dtype, always)
        return cls(
            writer.dir, proxies, labels.pop("party"), labels.pop("policy"), fault_codes,
            {n.removeprefix("attr."): v for n, v in labels.items()},
            np.array([writer.rows[r] for r in raw], dtype=np.int64),
            writer.span, writer.status_anywhere, raw, luts, list(writer.names),
        )  # fmt: skip

    @property
    def size(self) -> int:
        return int(self.counts.sum())

    def load(self, proxy: int, lean: bool = False) -> Requests:
        """One proxy's requests, in time order (ties in arrival order), canonical labels;
        ``lean``: without target times, statuses and attributes (``lean_columns``)."""
        if proxy not in self._sorted:
            self._sort(proxy)
        names = _LEAN if lean else self._names
        cols = {n: self._read(f"sorted.{proxy}.{n}", n) for n in names}
        n = cols["ts"].size
        if lean:
            cols["target_ms"], cols["status"] = lean_columns(n)
        return Requests(
            cols["ts"], np.broadcast_to(np.int16(proxy), (n,)), cols["party"],
            cols["outcome"], cols["policy"], cols["target_ms"], self.proxies, self.parties,
            self.policies, self.fault_codes, status=cols["status"],
            attrs={} if lean else {a: (cols[f"attr.{a}"], v) for a, v in self.attr_labels.items()},
            status_anywhere=self.status_anywhere,
        )  # fmt: skip

    def _sort(self, proxy: int) -> None:
        """Relabel and sort the proxy's raw files once (later loads only read)."""
        raw = self._raw[proxy]
        ts = self._read(f"raw.{raw}.ts", "ts")
        order = None if ts.size < 2 or (ts[1:] >= ts[:-1]).all() else np.argsort(ts, kind="stable")
        for name in self._names:
            values = ts if name == "ts" else self._read(f"raw.{raw}.{name}", name)
            if name in self._luts:
                values = self._luts[name][values]
            if order is not None:
                values = values[order]
            spill.append(self.dir.file(f"sorted.{proxy}.{name}"), values)
            self.dir.file(f"raw.{raw}.{name}").unlink(missing_ok=True)
        self._sorted.add(proxy)

    def _read(self, file: str, name: str) -> np.ndarray:
        return spill.read(self.dir.file(file), dict(COLUMNS).get(name, ATTR_DTYPE))


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


Source = SpilledRequests | InMemory
