"""The container of fan-out partials: a NumPy ``.npz`` written and read in slices.

Entries are stored (not compressed) ``.npy`` arrays, in name order, with fixed
zip timestamps, so the same content always gives the same bytes; a large 1-D
entry (a ``Column``) is written slice by slice and read back slice by slice
(``read_header``, ``read_items``), so neither side holds it whole. Files are
written to a temporary name, hashed, and renamed ``<stem>-<sha256 prefix>.npz``
(``store_with``). Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from copilot.errors import InputError

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Column:
    """A 1-D entry written slice by slice: its dtype, its length and how to get the slices."""

    dtype: Any
    size: int
    slices: Callable[[], Iterable[np.ndarray]]


@dataclass(frozen=True)
class PartialFile:
    """Where a partial is and what it holds (small: this is what travels)."""

    path: str
    sha256: str
    bytes: int


def meta_array(meta: dict[str, Any]) -> np.ndarray:
    """``meta`` as the UTF-8 JSON bytes of the ``meta`` entry (keys sorted)."""
    return np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)


def write_npz(fh: IO[bytes], items: dict[str, np.ndarray | Column]) -> None:
    """Write ``items`` as stored ``.npy`` entries in name order (deterministic bytes).

    A ``Column`` is written slice by slice; the entry is what ``np.save``
    would write for the whole array.
    """
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
        for name in sorted(items):
            item = items[name]
            if isinstance(item, np.ndarray):
                item = np.ascontiguousarray(item)
                dtype, shape, slices = item.dtype, item.shape, [item.reshape(-1)]
            else:
                dtype, shape, slices = np.dtype(item.dtype), (item.size,), item.slices()
            head = io.BytesIO()
            descr = np.lib.format.dtype_to_descr(dtype)
            np.lib.format.write_array_header_1_0(
                head, {"descr": descr, "fortran_order": False, "shape": shape}
            )
            info = zipfile.ZipInfo(f"{name}.npy", _ZIP_TIME)
            items_n = int(np.prod(shape))
            info.file_size = head.tell() + items_n * dtype.itemsize
            with zf.open(info, "w") as out:
                out.write(head.getvalue())
                written = 0
                for part in slices:
                    out.write(np.ascontiguousarray(part, dtype=dtype))
                    written += part.size
                assert written == items_n, f"{name}: {written} items written, {items_n} announced"


def encode(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
    """The file's bytes (deterministic for the same content)."""
    buffer = io.BytesIO()
    write_npz(buffer, {"meta": meta_array(meta), **arrays})
    return buffer.getvalue()


def store(directory: Path, stem: str, body: bytes) -> PartialFile:
    """Write ``body`` as ``<stem>-<sha256 prefix>.npz``: to a temporary name, then renamed."""
    return store_with(directory, stem, lambda fh: fh.write(body))


def store_with(directory: Path, stem: str, write: Callable[[IO[bytes]], object]) -> PartialFile:
    """``store`` of what ``write(fh)`` writes (streamed to the temporary file, then hashed)."""
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{stem}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            write(fh)
        digest = file_sha256(tmp)
        final = directory / f"{stem}-{digest[:16]}.npz"
        size = tmp.stat().st_size
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return PartialFile(str(final), digest, size)


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check(ok: bool, path: Path, what: str) -> None:
    """Refuse a partial that is not what it should be (``InputError`` naming ``what``)."""
    if not ok:
        raise InputError(f"{path}: not a valid atc partial ({what})")


@contextmanager
def reading(path: Path) -> Iterator[zipfile.ZipFile]:
    """The file's zip, its read errors (corrupt, truncated, pickled) as ``InputError``."""
    try:
        with zipfile.ZipFile(path) as zf:
            yield zf
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: not a valid atc partial ({exc})") from None


def parse_meta(path: Path, raw: np.ndarray, fmt: str, version: int) -> dict[str, Any]:
    """The ``meta`` entry as a dict: a JSON object of format ``fmt``, version ``version``."""
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        meta = None
    check(isinstance(meta, dict), path, "metadata is not a JSON object")
    check(meta.get("format") == fmt, path, "wrong format")
    check(meta.get("version") == version, path, f"version {meta.get('version')}, want {version}")
    return meta


def read_header(fh: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a ``.npy`` header (the stream is left at the first item)."""
    version = np.lib.format.read_magic(fh)
    read = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }
    if version not in read:
        raise ValueError(f"unsupported .npy version {version}")
    shape, _fortran, dtype = read[version](fh)
    return shape, dtype


def read_items(fh: IO[bytes], dtype: type, n: int) -> np.ndarray:
    """Up to ``n`` items of ``dtype`` (fewer at the end of the entry: callers check)."""
    size = np.dtype(dtype).itemsize
    body = fh.read(n * size)
    return np.frombuffer(body, dtype=dtype, count=len(body) // size)


def decode(
    path: Path, sha256: str | None, fmt: str, version: int
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A file's metadata and all its arrays, in memory: checksum, format and version checked."""
    body = Path(path).read_bytes()
    if sha256 is not None:
        check(hashlib.sha256(body).hexdigest() == sha256, path, "checksum mismatch")
    try:
        with np.load(io.BytesIO(body), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: not a valid atc partial ({exc})") from None
    check("meta" in arrays, path, "no metadata")
    return parse_meta(path, arrays.pop("meta"), fmt, version), arrays
