"""A partition's collected requests as a file, and their exact merge (``atc suggest``).

``atc suggest`` needs, besides the analysis, every request's time, proxy,
party, outcome, faulting policy, target time, status and a few attribute
columns (``copilot.throttling.collect``). A partition that collects writes its
``Requests`` next to its analysis partial, with the same discipline
(``copilot.fanout.partial``): a NumPy ``.npz`` read with ``allow_pickle=False``,
a JSON ``meta`` holding the format, version, partition and the label lists,
one ``.npy`` array per column, deterministic bytes, named
``<partition id>-requests-<sha256 prefix>.npz`` and validated when read.

The merge is exact: ``Collector.finish`` numbers labels in sorted order of
the labels used, so each partial's ids map into the union of the labels
(sorted again) by one lookup per column; the partials are appended in
partition order (file order) to their proxies' scratch files, and each
proxy's share is sorted by time with a stable sort. Ties keep file order, so
every share is the one a single pass collects, array for array
(``copilot.throttling.spilled``).

An attribute kept as a hash per request (``copilot.throttling.collect.HASHED``:
the path, unless a bundle condition reads it) is an int64 column with no labels,
listed in the meta's ``hashed``; its values are the same in every partition, so
the merge copies them as they are. Version 1 partials (no ``hashed``, written
before) are refused: collect them again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from copilot.errors import InputError
from copilot.fanout.partial import PartialFile, check, decode, encode, store
from copilot.fanout.partition import Partition
from copilot.spill import SpillDir
from copilot.throttling.collect import Requests
from copilot.throttling.spilled import ProxySpill, SpilledRequests

FORMAT = "atc-fanout-requests"
VERSION = 2  # 2: attributes kept hashed (meta "hashed", int64 columns)
# Per-request columns of ``Requests`` and their types; ``attr.<name>`` are int32 ids, or
# int64 hashes for the names in ``hashed``.
COLUMNS = {
    "ts": np.int64,
    "proxy": np.int16,
    "party": np.int32,
    "outcome": np.int8,
    "policy": np.int16,
    "target_ms": np.float32,
    "status": np.int16,
}
ATTR_IDS, ATTR_HASHES = np.int32, np.int64
# Which label list each id column indexes.
_LABELLED = {"proxy": "proxies", "party": "parties", "policy": "policies"}


def _column(req: Requests, name: str) -> np.ndarray:
    value = getattr(req, name)
    return np.zeros(req.size, np.int16) if value is None else value  # status may be absent


def write_requests(
    directory: Path, part: Partition, req: Requests, hashed: Iterable[str] = ()
) -> PartialFile:
    """Write a partition's ``Requests`` under ``directory``; its reference. ``hashed``: the
    attributes collected as hashes (``Collector.hashed``: int64, no labels)."""
    hashed = set(hashed)
    if not hashed <= set(req.attrs):
        raise ValueError(f"hashed attributes not collected: {sorted(hashed - set(req.attrs))}")
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "partition": asdict(part),
        "rows": req.size,
        "proxies": req.proxies,
        "parties": [list(p) for p in req.parties],
        "policies": req.policies,
        "fault_codes": {k: list(v) for k, v in sorted(req.fault_codes.items())},
        "attrs": [[name, labels] for name, (_ids, labels) in req.attrs.items()],  # keeps order
        "hashed": sorted(hashed),
    }
    arrays = {name: _column(req, name).astype(t, copy=False) for name, t in COLUMNS.items()}
    for name, (ids, _labels) in req.attrs.items():
        arrays[f"attr.{name}"] = ids.astype(ATTR_HASHES if name in hashed else ATTR_IDS, copy=False)
    return store(directory, f"{part.id}-requests", encode(meta, arrays))


def _labels(meta: dict[str, Any], path: Path) -> dict[str, list]:
    """The label lists of a partial, checked to be lists of strings (parties: pairs)."""
    out: dict[str, list] = {}
    for key in ("proxies", "policies"):
        out[key] = meta.get(key)
        check(isinstance(out[key], list) and all(isinstance(x, str) for x in out[key]), path, key)
    parties = meta.get("parties")
    check(isinstance(parties, list), path, "parties")
    check(all(isinstance(p, list) and len(p) == 2 for p in parties), path, "parties")
    out["parties"] = [(str(a), str(c)) for a, c in parties]
    attrs = meta.get("attrs")
    check(isinstance(attrs, list) and all(len(a) == 2 for a in attrs), path, "attrs")
    hashed = meta.get("hashed")
    check(isinstance(hashed, list) and set(hashed) <= {a[0] for a in attrs}, path, "hashed")
    for name, labels in attrs:
        check(isinstance(labels, list), path, f"attr {name}")
        check(name not in hashed or labels == [], path, f"hashed attr {name} has labels")
        out[f"attr.{name}"] = [str(x) for x in labels]
    return out


def read_requests(path: Path, sha256: str | None = None) -> tuple[Requests, Partition]:
    """Read and validate a requests partial (checksum, types, lengths, ids, time order)."""
    requests, part, _hashed = read_requests_hashed(path, sha256)
    return requests, part


def read_requests_hashed(
    path: Path, sha256: str | None = None
) -> tuple[Requests, Partition, tuple[str, ...]]:
    """:func:`read_requests`, and the attributes kept hashed (sorted)."""
    meta, arrays = decode(path, sha256, FORMAT, VERSION)
    labels = _labels(meta, path)
    hashed = {f"attr.{n}" for n in meta["hashed"]}
    rows = meta.get("rows")
    names = [*COLUMNS, *(f"attr.{n}" for n, _ in meta["attrs"])]
    check(sorted(arrays) == sorted(names), path, "columns")
    for name in names:
        a = arrays[name]
        want = COLUMNS.get(name, ATTR_HASHES if name in hashed else ATTR_IDS)
        check(a.dtype == want and a.ndim == 1 and a.size == rows, path, f"{name} type or length")
        vocab = None if name in hashed else labels.get(_LABELLED.get(name, name))
        if vocab is not None and a.size:
            check(bool(a.min() >= 0) and int(a.max()) < len(vocab), path, f"{name} ids")
    ts = arrays["ts"]
    check(bool((ts[1:] >= ts[:-1]).all()), path, "not in time order")
    codes = meta.get("fault_codes")
    check(isinstance(codes, dict), path, "fault_codes")
    req = Requests(
        *(arrays[n] for n in ("ts", "proxy", "party", "outcome", "policy", "target_ms")),
        proxies=labels["proxies"],
        parties=labels["parties"],
        policies=labels["policies"],
        fault_codes={str(k): tuple(str(c) for c in v) for k, v in codes.items()},
        status=arrays["status"],
        attrs={n: (arrays[f"attr.{n}"], labels[f"attr.{n}"]) for n, _ in meta["attrs"]},
    )
    return req, Partition(**meta["partition"]), tuple(sorted(meta["hashed"]))


def _lut(mine: list, merged: dict[Any, int], dtype: type) -> np.ndarray:
    return np.array([merged[x] for x in mine] or [0], dtype=dtype)


def _summary(req: Requests, part: Partition, hashed: tuple[str, ...]) -> dict[str, Any]:
    """What the first read keeps of a partial: its labels, size and place."""
    out: dict[str, Any] = {k: getattr(req, k) for k in ("proxies", "parties", "policies")}
    out.update({f"attr.{n}": labels for n, (_ids, labels) in req.attrs.items()})
    out.update(size=req.size, place=(part.file_index, part.id), attrs=(tuple(req.attrs), hashed),
               codes=req.fault_codes)  # fmt: skip
    return out


@dataclass
class _Plan:
    """What the first read of every partial gives: the merged labels and the file order."""

    order: list[int]
    attr_names: list[str]
    hashed: tuple[str, ...]  # of attr_names: kept as hashes, copied as they are
    vocab: dict[str, list]
    index: dict[str, dict[Any, int]]
    codes: dict[str, tuple[str, ...]]
    total: int


def _plan(files: list[PartialFile]) -> _Plan:
    heads = [_summary(*read_requests_hashed(Path(f.path), f.sha256)) for f in files]
    names = {h["attrs"] for h in heads}
    if len(names) > 1:
        what = "different attributes (names, hashed)"
        raise InputError(f"requests partials collected {what}: {sorted(names)}")
    attr_names, hashed = (list(names.pop()[0]), heads[0]["attrs"][1]) if heads else ([], ())
    labelled = [n for n in attr_names if n not in hashed]
    keys = ["proxies", "parties", "policies", *(f"attr.{n}" for n in labelled)]
    vocab = {key: sorted(set().union(*(h[key] for h in heads))) for key in keys}
    codes: dict[str, set[str]] = {}
    for h in heads:
        for k, v in h["codes"].items():
            codes.setdefault(k, set()).update(v)
    return _Plan(
        sorted(range(len(files)), key=lambda i: heads[i]["place"]), attr_names, hashed, vocab,
        {key: {x: i for i, x in enumerate(v)} for key, v in vocab.items()},
        {k: tuple(sorted(v)) for k, v in sorted(codes.items())}, sum(h["size"] for h in heads),
    )  # fmt: skip


def _partials(files: list[PartialFile], plan: _Plan):
    """Each partial's columns (``COLUMNS``, then ``attr.*``) in merged ids, in file order."""
    for i in plan.order:
        req, _part = read_requests(Path(files[i].path), files[i].sha256)
        cols = {}
        for name, t in COLUMNS.items():
            col = _column(req, name)
            key = _LABELLED.get(name)
            cols[name] = col if key is None else _lut(getattr(req, key), plan.index[key], t)[col]
        for n in plan.attr_names:
            ids, labels = req.attrs[n]
            if n in plan.hashed:  # the same value's hash in every partition
                cols[f"attr.{n}"] = ids
            else:
                cols[f"attr.{n}"] = _lut(labels, plan.index[f"attr.{n}"], ATTR_IDS)[ids]
        yield cols


def spill_requests(files: Iterable[PartialFile], directory: SpillDir) -> SpilledRequests:
    """All partitions' partials merged, as one pass would collect them, and written by proxy
    under ``directory``: memory holds one partial while merging, one proxy's share after.

    Two reads of each file: the first gathers the labels and sizes (every file checked),
    the second maps each partial's ids into the merged labels and appends its rows, in
    partition order, to their proxies' files; each share is sorted by time when first
    loaded (ties keep partition order, as one pass keeps arrival order)."""
    files = list(files)
    plan = _plan(files)
    writer = ProxySpill(directory, tuple(plan.attr_names), plan.hashed)
    for part in _partials(files, plan):
        if part["ts"].size:
            writer.add(tuple(part.values()))  # the collector's column order
    vocab = plan.vocab
    return SpilledRequests.of(
        writer,
        {"proxy": vocab["proxies"], "policy": vocab["policies"]}
        | {f"attr.{n}": vocab[f"attr.{n}"] for n in plan.attr_names if n not in plan.hashed},
        vocab["parties"],
        plan.codes,
    )
