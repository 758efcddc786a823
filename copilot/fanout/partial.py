"""A partition's aggregates as a file: explicit, versioned, validated on read.

The file is a NumPy ``.npz`` (a zip of ``.npy`` arrays, read with
``allow_pickle=False``: nothing in it can run code) holding

- ``meta``: UTF-8 JSON as bytes: format name and version, the partition, the
  counters, the label vocabularies (strings) and the quarantine account;
- ``consumers`` / ``endpoints``: ``[n, 3]`` int64 id triples (proxy, app,
  client / proxy, verb, template) indexing the vocabularies;
- ``outcome_totals``; and for every sparse aggregate ``<name>.keys`` (int64
  ``t << 23 | group``) and ``<name>.counts`` (int32).

The sparse aggregates are streamed in and out a slice at a time (stored
entries: a ``.npy`` header, then raw items), and a spilled per-second
aggregate is merged to one run on disk first: writing or reading a partial
never holds one of its aggregates whole, so a worker's memory stays bounded
however many seconds its partition fills in (``copilot.analysis.runs``).

The bytes are deterministic (fixed zip timestamps, stored entries), so the
same partition read twice gives the same file, named
``<partition id>-<sha256 prefix>.npz``: written to a temporary name, then
renamed. A worker that dies mid-write leaves only a temporary file; a retried
attempt writes the same name; a slow zombie attempt can never change a file a
merge was told about, because the reference carries the full sha256.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from copilot.analysis.sparse import GROUP_MASK
from copilot.fanout.npzfile import (
    Column,
    PartialFile,
    check,
    decode,
    encode,
    file_sha256,
    meta_array,
    parse_meta,
    read_header,
    read_items,
    reading,
    store,
    store_with,
    write_npz,
)
from copilot.fanout.partition import Partition
from copilot.fanout.read import Reading

FORMAT = "atc-fanout-partial"
VERSION = 2  # 2: the quarantine counts kinds of failure, its lines keep kind and detail
# Sparse aggregates of the Analyzer, and which vocabulary their groups index.
AGGREGATES = {
    "consumers.seconds": "consumer",
    "consumers.outcomes": "consumer",
    "consumers.total_ms": "consumer",
    "consumers.target_ms": "consumer",
    "endpoints.seconds": "endpoint",
    "endpoints.outcomes": "endpoint",
    "endpoints.total_ms": "endpoint",
    "endpoints.target_ms": "endpoint",
    "proxy_seconds": "proxy",
    "app_seconds": "app",
    "consumer_minutes": "consumer",
    "proxy_latency": "proxy",
}
LABELS = ("proxy", "app", "client", "verb", "template")
SMALL = ("consumers", "endpoints", "outcome_totals")  # read whole; the aggregates are streamed
WINDOW = 1 << 18  # cells per slice when an aggregate is streamed in or out (3 MB)
Cells = tuple[np.ndarray, np.ndarray]
# What other modules take from here (copilot.fanout.requests).
__all__ = ["PartialFile", "check", "decode", "encode", "read_partial", "store", "write_partial"]


@dataclass
class Partial:
    """A partial read back and checked: its metadata and small arrays (``SMALL``).

    The sparse aggregates stay in the file: ``cells(name)`` streams them.
    """

    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]
    path: Path  # where it was read from (its rejected lines are beside it)
    sha256: str | None = None

    @property
    def where(self) -> Path:
        return self.path.parent

    def header(self) -> Partial:
        """This partial without its arrays (what the merge keeps of every partial at once)."""
        return Partial(self.meta, {}, self.path, self.sha256)

    def load(self) -> Partial:
        """This partial with its small arrays (read again, checksum checked again).

        Its aggregates were checked in full when it was first read, and
        ``cells`` checks every slice again as it streams it.
        """
        return self if self.arrays else read_partial(self.path, self.sha256, deep=False)

    def cells(self, name: str, window: int | None = None) -> Iterator[Cells]:
        """Aggregate ``name``'s cells (key-sorted) in slices of ``window`` (``WINDOW``), checked."""
        sizes = _sizes(self.meta, self.arrays)
        with reading(self.path) as zf:
            yield from _cells(zf, self.path, name, sizes[AGGREGATES[name]], window or WINDOW)

    @property
    def partition(self) -> Partition:
        return Partition(**self.meta["partition"])


def aggregate(analyzer: Any, name: str) -> Any:
    """The ``SparseCounts`` called ``name`` (``consumers.seconds`` -> analyzer.consumers.seconds)."""
    obj = analyzer
    for attr in name.split("."):
        obj = getattr(obj, attr)
    return obj


def _meta(part: Partition, reading: Reading, rejects: str | None) -> dict[str, Any]:
    an, q = reading.analyzer, reading.quarantine
    return {
        "format": FORMAT,
        "version": VERSION,
        "partition": asdict(part),
        "records": an.records,
        "skipped": an.skipped,
        "first_ms": an.first_ms,
        "last_ms": an.last_ms,
        "unlogged": an.unlogged,
        "template_overflowed": an.vocabs.template.overflowed,
        "labels": {name: [str(x) for x in getattr(an.vocabs, name).labels] for name in LABELS},
        "header_lines": reading.header_lines,
        "chunks": reading.chunks,
        "quarantine": {
            "lines_read": q.lines_read,
            "records": q.records,
            "rejected": q.rejected,
            "kinds": list(q.kinds.items()),  # insertion order: merges like one stream
            "samples": [s.to_dict() for s in q.samples],
            "rejects_file": rejects,
        },
    }


def _entries(reading: Reading) -> dict[str, np.ndarray | Column]:
    an = reading.analyzer
    out: dict[str, np.ndarray | Column] = {
        "consumers": np.array(an.vocabs.consumer.labels, dtype=np.int64).reshape(-1, 3),
        "endpoints": np.array(an.vocabs.endpoint.labels, dtype=np.int64).reshape(-1, 3),
        "outcome_totals": an.outcome_totals.astype(np.int64),
    }
    for name in AGGREGATES:
        counts = aggregate(an, name)
        n = counts.compact()  # one sorted run: its length is known before it is written
        out[f"{name}.keys"] = Column(np.int64, n, lambda c=counts: (k for k, _ in c.blocks()))
        out[f"{name}.counts"] = Column(np.int32, n, lambda c=counts: (v for _, v in c.blocks()))
    return out


def write_partial(
    directory: Path, part: Partition, reading: Reading, rejects: str | None = None
) -> PartialFile:
    """Write the partial under ``directory``, atomically; returns its reference."""
    items = {"meta": meta_array(_meta(part, reading, rejects)), **_entries(reading)}
    return store_with(directory, part.id, lambda fh: write_npz(fh, items))


def read_partial(path: Path, sha256: str | None = None, *, deep: bool = True) -> Partial:
    """Read and validate a partial (its checksum too, when the reference gives one).

    ``deep``: stream every aggregate through its checks too (``cells`` checks
    each slice again whenever it is read).
    """
    path = Path(path)
    if sha256 is not None:
        check(file_sha256(path) == sha256, path, "checksum mismatch")
    with reading(path) as zf:
        names = {n.removesuffix(".npy") for n in zf.namelist() if n.endswith(".npy")}
        check("meta" in names, path, "no metadata")
        meta = parse_meta(path, _array(zf, "meta"), FORMAT, VERSION)
        arrays = {n: _array(zf, n) for n in SMALL if n in names}
        _validate(path, meta, arrays, names)
        if deep:
            sizes = _sizes(meta, arrays)
            for name, vocab in AGGREGATES.items():
                for _ in _cells(zf, path, name, sizes[vocab], WINDOW):
                    pass
    return Partial(meta, arrays, path, sha256)


def _array(zf: zipfile.ZipFile, name: str) -> np.ndarray:
    with zf.open(f"{name}.npy") as fh:
        return np.lib.format.read_array(fh, allow_pickle=False)


def _cells(zf: zipfile.ZipFile, path: Path, name: str, groups: int, window: int) -> Iterator[Cells]:
    """Aggregate ``name``'s cells from the zip in slices, each checked as it is read."""
    present = set(zf.namelist())
    check({f"{name}.keys.npy", f"{name}.counts.npy"} <= present, path, f"{name} missing")
    with zf.open(f"{name}.keys.npy") as kf, zf.open(f"{name}.counts.npy") as cf:
        (k_shape, k_type), (c_shape, c_type) = read_header(kf), read_header(cf)
        check(k_type == np.int64 and c_type == np.int32, path, f"{name} dtype")
        check(k_shape == c_shape and len(k_shape) == 1, path, f"{name} shape")
        for start in range(0, k_shape[0], window):
            n = min(window, k_shape[0] - start)
            keys, counts = read_items(kf, np.int64, n), read_items(cf, np.int32, n)
            check(keys.size == n and counts.size == n, path, f"{name} truncated")
            check(bool((counts > 0).all()) and bool((keys >= 0).all()), path, f"{name} values")
            check(bool(((keys & GROUP_MASK) < groups).all()), path, f"{name} groups")
            yield keys, counts


def _sizes(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, int]:
    sizes = {n: len(meta["labels"][n]) for n in LABELS}
    sizes["consumer"], sizes["endpoint"] = len(arrays["consumers"]), len(arrays["endpoints"])
    return sizes


def _validate(
    path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray], names: set[str]
) -> None:
    labels = meta.get("labels", {})
    check(all(isinstance(labels.get(n), list) for n in LABELS), path, "labels")
    sizes = {n: len(labels[n]) for n in LABELS}
    for name, cols in (("consumers", ("proxy", "app", "client")),
                       ("endpoints", ("proxy", "verb", "template"))):  # fmt: skip
        ids = arrays.get(name)
        check(ids is not None and ids.ndim == 2 and ids.shape[1] == 3, path, name)
        for j, col in enumerate(cols):
            check(bool(((ids[:, j] >= 0) & (ids[:, j] < sizes[col])).all()), path, name)
    for name in AGGREGATES:
        check({f"{name}.keys", f"{name}.counts"} <= names, path, f"{name} missing")
    totals = arrays.get("outcome_totals")
    check(totals is not None and totals.ndim == 1, path, "outcome_totals")
    check(int(totals.sum()) == meta.get("records"), path, "records vs outcome totals")
