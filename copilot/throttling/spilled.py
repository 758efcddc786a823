"""The collected requests on disk, partitioned by proxy: memory holds one proxy at a time.

Every stage of the advice but a few sums reads one proxy's requests
(docs/fanout.md, 'Memory'), so the collector can write each chunk's rows to
that proxy's raw column files (:class:`ProxySpill`) instead of keeping them,
and the advice loads one proxy's share at a time (:class:`SpilledRequests`).
A share is what the in-memory :class:`~copilot.throttling.requests.Requests`
of the whole estate would give for that proxy (:class:`InMemory`): the same
rows in the same order (time, ties in arrival order) with the same labels.

A share is sorted on first use by merging the time-sorted runs the collector
wrote (``copilot.throttling.spilled_sort``), a block at a time, and a share too
large to hold is read in time slices (:meth:`SpilledRequests.slices`), a block
of the sorted files at a time: neither ever holds the whole share.

An attribute the collector keeps hashed (``copilot.throttling.collect.HASHED``)
is an int64 column with no labels: nothing to note, relabel or look up.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from copilot import spill
from copilot.analysis.rates import group_starts
from copilot.throttling import spilled_sort
from copilot.throttling.requests import Requests, canonical_lut, lean_columns
from copilot.throttling.shares import SLICE_ROWS, InMemory, Slice

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
HASH_DTYPE = np.int64  # an attribute kept as a hash per request
_LEAN = ("ts", "party", "outcome", "policy")  # what a lean load reads


class ProxySpill:
    """Writes each chunk's rows to its proxy's column files, noting the labels they use.

    Each chunk's rows of a proxy are written sorted by time (ties in chunk order) as one
    *run*, or as the end of the previous run when none is earlier than its last time."""

    def __init__(
        self, directory: spill.SpillDir, attr_names: tuple[str, ...], hashed: Iterable[str] = ()
    ) -> None:
        """``hashed``: the attributes among ``attr_names`` kept as int64 hashes (no labels)."""
        self.dir = directory
        self.names = [n for n, _ in COLUMNS] + [f"attr.{a}" for a in attr_names]
        self.hashed = frozenset(f"attr.{a}" for a in hashed)
        self.labelled = [f"attr.{a}" for a in attr_names if f"attr.{a}" not in self.hashed]
        self.rows: dict[int, int] = {}  # raw proxy id -> rows written
        self.runs: dict[int, list[int]] = {}  # raw proxy id -> rows of each time-sorted run
        self._last: dict[int, int] = {}  # raw proxy id -> the last time of its latest run
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
            if name in ("party", "policy", *self.labelled):
                self._note(name, values)
        # stable: ties in arrival order within a proxy (lexsort is stable too)
        in_order = ms.size < 2 or bool((ms[1:] >= ms[:-1]).all())
        order = np.argsort(proxy, kind="stable") if in_order else np.lexsort((ms, proxy))
        keys = proxy[order]
        starts = group_starts(keys)
        for a, b in zip(starts, np.r_[starts[1:], keys.size], strict=True):
            raw, rows = int(keys[a]), order[a:b]
            self._note_run(raw, int(ms[rows[0]]), int(ms[rows[-1]]), rows.size)
            for name, values in zip(self.names, rest, strict=True):
                spill.append(self.dir.file(f"raw.{raw}.{name}"), values[rows])

    def _note_run(self, raw: int, first: int, last: int, n: int) -> None:
        self.rows[raw] = self.rows.get(raw, 0) + n
        runs = self.runs.setdefault(raw, [])
        if runs and first >= self._last[raw]:
            runs[-1] += n  # in order after the run so far: merging would only copy it
        else:
            runs.append(n)
        self._last[raw] = last  # the end of the latest run

    def _note(self, name: str, ids: np.ndarray) -> None:
        seen = self.seen.get(name, np.zeros(0, bool))
        top = int(ids.max()) + 1 if ids.size else 0
        if top > seen.size:
            seen = np.r_[seen, np.zeros(max(top - seen.size, seen.size), bool)]
        seen[ids] = True
        self.seen[name] = seen


@dataclass
class SpilledRequests:
    """The estate's requests on disk: :meth:`load` one proxy's share, or read it in
    :meth:`slices` (see module docstring)."""

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
    _runs: list[list[int]] = field(repr=False, default_factory=list)  # canonical -> run sizes
    _sorted: set[int] = field(repr=False, default_factory=set)
    _derived: dict[tuple[int, str], np.dtype] = field(repr=False, default_factory=dict)
    _dtypes: dict[str, np.dtype] = field(repr=False, default_factory=dict)  # column -> dtype

    @classmethod
    def of(
        cls,
        writer: ProxySpill,
        vocabs: dict[str, list[str]],
        parties: list[tuple[str, str]],
        fault_codes: dict[str, tuple[str, ...]],
    ) -> SpilledRequests:
        """The source for what ``writer`` wrote; ``vocabs``: the proxy, policy and attr.*
        labels of the raw ids written (none for a hashed attribute: it has no labels)."""
        raw_proxies = vocabs["proxy"]
        used = np.zeros(len(raw_proxies), bool)
        used[list(writer.rows)] = True
        _, proxies = canonical_lut(used, raw_proxies, np.int16)
        raw = [raw_proxies.index(p) for p in proxies]
        luts, labels = {}, {}
        for name, all_labels, always in (
            ("party", parties, None),
            ("policy", vocabs["policy"], ""),
            *((n, vocabs[n], None) for n in writer.names[6:] if n not in writer.hashed),
        ):
            seen = writer.seen.get(name, np.zeros(0, bool))
            used = np.zeros(len(all_labels), bool)
            used[: min(seen.size, used.size)] = seen[: used.size]
            dtype = dict(COLUMNS).get(name, ATTR_DTYPE)
            luts[name], labels[name] = canonical_lut(used, all_labels, dtype, always)
        attrs = {n.removeprefix("attr."): labels.get(n, []) for n in writer.names[6:]}  # in order
        dtypes = {n: np.dtype(_dtype(n)) for n in writer.names}
        dtypes.update({n: np.dtype(HASH_DTYPE) for n in writer.hashed})
        return cls(
            writer.dir, proxies, labels.pop("party"), labels.pop("policy"), fault_codes, attrs,
            np.array([writer.rows[r] for r in raw], dtype=np.int64),
            writer.span, writer.status_anywhere, raw, luts, list(writer.names),
            [list(writer.runs[r]) for r in raw], _dtypes=dtypes,
        )  # fmt: skip

    @property
    def size(self) -> int:
        return int(self.counts.sum())

    def load(self, proxy: int, lean: bool = False) -> Requests:
        """One proxy's requests, in time order (ties in arrival order), canonical labels;
        ``lean``: without target times, statuses and attributes (``lean_columns``)."""
        self._sort(proxy)
        names = _LEAN if lean else self._names
        return self._requests(proxy, {n: self._read(proxy, n) for n in names}, lean)

    def slices(
        self, proxy: int, rows: int = SLICE_ROWS, lean: bool = False, derived: tuple[str, ...] = ()
    ) -> Iterator[Slice]:
        """The proxy's share in time slices of about ``rows`` requests, each ending between
        two distinct times (``shares.cuts``), read a slice at a time; ``lean`` as in
        :meth:`load`; with each slice's part of the derived columns ``derived``."""
        self._sort(proxy)
        dtypes = {name: self._derived[(proxy, name)] for name in derived}  # KeyError: unwritten
        names, n, start = _LEAN if lean else self._names, int(self.counts[proxy]), 0
        while start < n:
            stop = self._cut(proxy, start, rows, n)
            cols = {name: self._read(proxy, name, start, stop - start) for name in names}
            parts = {
                name: spill.read(self._derived_file(proxy, name), dtype, start, stop - start)
                for name, dtype in dtypes.items()
            }
            yield Slice(self._requests(proxy, cols, lean), start, parts)
            start = stop

    def append_derived(self, proxy: int, name: str, values: np.ndarray) -> None:
        """Append the next slice's values of a derived column of the proxy's share (on disk;
        the dtype is that of the first values appended)."""
        dtype = self._derived.setdefault((proxy, name), np.asarray(values).dtype)
        spill.append(self._derived_file(proxy, name), np.asarray(values).astype(dtype, copy=False))

    def _derived_file(self, proxy: int, name: str):
        return self.dir.file(f"derived.{proxy}.{name}")

    def _cut(self, proxy: int, start: int, rows: int, n: int) -> int:
        """The end of the slice from ``start``: ``rows`` on, then on past every request of the
        millisecond that row is in (read ahead a block at a time), as ``shares.cuts``."""
        stop = min(start + max(rows, 1), n)
        if stop == n:
            return n
        last = self._read(proxy, "ts", stop - 1, 1)[0]
        while stop < n:
            ahead = self._read(proxy, "ts", stop, min(spilled_sort.BLOCK, n - stop))
            k = int(np.searchsorted(ahead, last, side="right"))
            stop += k
            if k < ahead.size:
                break
        return stop

    def _requests(self, proxy: int, cols: dict[str, np.ndarray], lean: bool) -> Requests:
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
        """Relabel and sort the proxy's raw files once (later reads only read): a merge of
        the collector's time-sorted runs, a block at a time (``spilled_sort``)."""
        if proxy in self._sorted:
            return
        raw = self._raw[proxy]
        files = {name: self.dir.file(f"raw.{raw}.{name}") for name in self._names}
        dtypes = self._dtypes

        def read_ts(start: int, count: int) -> np.ndarray:
            return spill.read(files["ts"], np.int64, start, count)

        for step in spilled_sort.merge(read_ts, self._runs[proxy]):
            for name in self._names:
                if name == "ts":
                    values = step.ts
                else:
                    parts = [spill.read(files[name], dtypes[name], a, k) for a, k in step.ranges]
                    values = parts[0] if len(parts) == 1 else np.concatenate(parts)
                    if step.order is not None:
                        values = values[step.order]
                if name in self._luts:
                    values = self._luts[name][values]
                spill.append(self._sorted_file(proxy, name), values)
        for path in files.values():
            path.unlink(missing_ok=True)
        self._sorted.add(proxy)

    def _sorted_file(self, proxy: int, name: str):
        return self.dir.file(f"sorted.{proxy}.{name}")

    def _read(self, proxy: int, name: str, start: int = 0, count: int = -1) -> np.ndarray:
        return spill.read(self._sorted_file(proxy, name), self._dtypes[name], start, count)


def _dtype(name: str) -> np.dtype:
    return np.dtype(dict(COLUMNS).get(name, ATTR_DTYPE))


Source = SpilledRequests | InMemory
