"""A partition's aggregates as a file: explicit, versioned, validated on read.

The file is a NumPy ``.npz`` (a zip of ``.npy`` arrays, read with
``allow_pickle=False``: nothing in it can run code) holding

- ``meta``: UTF-8 JSON as bytes: format name and version, the partition, the
  counters, the label vocabularies (strings) and the quarantine account;
- ``consumers`` / ``endpoints``: ``[n, 3]`` int64 id triples (proxy, app,
  client / proxy, verb, template) indexing the vocabularies;
- ``outcome_totals``; and for every sparse aggregate ``<name>.keys`` (int64
  ``t << 23 | group``) and ``<name>.counts`` (int32).

The bytes are deterministic (fixed zip timestamps, stored entries), so the
same partition read twice gives the same file, named
``<partition id>-<sha256 prefix>.npz``: written to a temporary name, then
renamed. A worker that dies mid-write leaves only a temporary file; a retried
attempt writes the same name; a slow zombie attempt can never change a file a
merge was told about, because the reference carries the full sha256.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from copilot.analysis.sparse import GROUP_MASK
from copilot.errors import InputError
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
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class PartialFile:
    """Where a partial is and what it holds (small: this is what travels)."""

    path: str
    sha256: str
    bytes: int


@dataclass
class Partial:
    """A partial read back: its metadata and arrays, checked."""

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
        """This partial with its arrays (read again, checked again, when only the header is kept)."""
        return self if self.arrays else read_partial(self.path, self.sha256)

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


def _arrays(reading: Reading) -> dict[str, np.ndarray]:
    an = reading.analyzer
    out = {
        "consumers": np.array(an.vocabs.consumer.labels, dtype=np.int64).reshape(-1, 3),
        "endpoints": np.array(an.vocabs.endpoint.labels, dtype=np.int64).reshape(-1, 3),
        "outcome_totals": an.outcome_totals.astype(np.int64),
    }
    for name in AGGREGATES:
        keys, counts = aggregate(an, name).result()
        out[f"{name}.keys"] = keys.astype(np.int64, copy=False)
        out[f"{name}.counts"] = counts.astype(np.int32, copy=False)
    return out


def encode(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
    """The partial's bytes (deterministic for the same content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        body = json.dumps(meta, sort_keys=True).encode("utf-8")
        items = {"meta": np.frombuffer(body, dtype=np.uint8), **arrays}
        for name in sorted(items):
            out = io.BytesIO()
            np.lib.format.write_array(out, np.ascontiguousarray(items[name]), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(f"{name}.npy", _ZIP_TIME), out.getvalue())
    return buffer.getvalue()


def write_partial(
    directory: Path, part: Partition, reading: Reading, rejects: str | None = None
) -> PartialFile:
    """Write the partial under ``directory``, atomically; returns its reference."""
    return store(directory, part.id, encode(_meta(part, reading, rejects), _arrays(reading)))


def store(directory: Path, stem: str, body: bytes) -> PartialFile:
    """Write ``body`` as ``<stem>-<sha256 prefix>.npz``: to a temporary name, then renamed."""
    digest = hashlib.sha256(body).hexdigest()
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{stem}-{digest[:16]}.npz"
    tmp = directory / f".{final.name}.{os.getpid()}.tmp"
    tmp.write_bytes(body)
    os.replace(tmp, final)
    return PartialFile(str(final), digest, len(body))


def check(ok: bool, path: Path, what: str) -> None:
    """Refuse a partial that is not what it should be (``InputError`` naming ``what``)."""
    if not ok:
        raise InputError(f"{path}: not a valid atc partial ({what})")


def read_partial(path: Path, sha256: str | None = None) -> Partial:
    """Read and validate a partial (its checksum too, when the reference gives one)."""
    meta, arrays = decode(path, sha256, FORMAT, VERSION)
    _validate(path, meta, arrays)
    return Partial(meta, arrays, Path(path), sha256)


def decode(
    path: Path, sha256: str | None, fmt: str, version: int
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A partial file's metadata and arrays: checksum, format and version checked."""
    body = Path(path).read_bytes()
    if sha256 is not None:
        check(hashlib.sha256(body).hexdigest() == sha256, path, "checksum mismatch")
    try:
        with np.load(io.BytesIO(body), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: not a valid atc partial ({exc})") from None
    check("meta" in arrays, path, "no metadata")
    try:
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        meta = None
    check(isinstance(meta, dict), path, "metadata is not a JSON object")
    check(meta.get("format") == fmt, path, "wrong format")
    check(meta.get("version") == version, path, f"version {meta.get('version')}, want {version}")
    return meta, arrays


def _validate(path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    labels = meta.get("labels", {})
    check(all(isinstance(labels.get(n), list) for n in LABELS), path, "labels")
    sizes = {n: len(labels[n]) for n in LABELS}
    for name, cols in (("consumers", ("proxy", "app", "client")),
                       ("endpoints", ("proxy", "verb", "template"))):  # fmt: skip
        ids = arrays.get(name)
        check(ids is not None and ids.ndim == 2 and ids.shape[1] == 3, path, name)
        for j, col in enumerate(cols):
            check(bool(((ids[:, j] >= 0) & (ids[:, j] < sizes[col])).all()), path, name)
    sizes["consumer"], sizes["endpoint"] = len(arrays["consumers"]), len(arrays["endpoints"])
    for name, vocab in AGGREGATES.items():
        keys, counts = arrays.get(f"{name}.keys"), arrays.get(f"{name}.counts")
        check(keys is not None and counts is not None, path, f"{name} missing")
        check(keys.dtype == np.int64 and counts.dtype == np.int32, path, f"{name} dtype")
        check(keys.shape == counts.shape and keys.ndim == 1, path, f"{name} shape")
        check(bool((counts > 0).all()) and bool((keys >= 0).all()), path, f"{name} values")
        check(bool(((keys & GROUP_MASK) < sizes[vocab]).all()), path, f"{name} groups")
    totals = arrays.get("outcome_totals")
    check(totals is not None and totals.ndim == 1, path, "outcome_totals")
    check(int(totals.sum()) == meta.get("records"), path, "records vs outcome totals")
