"""The log source a dashboard session analyses: files, their content hashes, uploads.

Uploads are stored content-addressed under ``<data_dir>/uploads/<sha256[:16]>/``,
so the same bytes are stored (and analysed) once whatever they are called,
and an upload the readers reject is deleted again. The analysis cache is keyed
on the files' content hashes, so a renamed or re-uploaded copy hits it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from copilot.errors import InputError

CHUNK = 1 << 20


def content_hash(path: Path | str) -> str:
    """The first 16 hex digits of the file's SHA-256 (InputError when it cannot be read)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(CHUNK):
                digest.update(block)
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or 'cannot be read'}") from None
    return digest.hexdigest()[:16]


def bundle_hash(path: Path | str) -> str:
    """The content hash of a proxy bundle: a .zip's bytes, or a folder's files and their names."""
    root = Path(path)
    if root.is_file():
        return content_hash(root)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(root)).encode() + b"\0" + content_hash(file).encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Source:
    """What a session analyses: the files (de-duplicated by content) and how to name them."""

    kind: str
    paths: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    hashes: tuple[str, ...] = ()
    fmt: str | None = None
    notices: tuple[str, ...] = field(default=())

    @property
    def key(self) -> tuple[tuple[str, ...], str | None]:
        """What the analysis depends on: the files' contents and the format."""
        return self.hashes, self.fmt

    @property
    def label(self) -> str:
        """``sample.csv`` or ``a.log + b.log`` or ``3 files (a.log, …)``."""
        if not self.names:
            return "nothing yet"
        if len(self.names) <= 2:
            return " + ".join(self.names)
        return f"{len(self.names)} files ({self.names[0]}, …)"

    def name_map(self) -> dict[str, str]:
        """Internal path -> the name a person gave it (for error sentences)."""
        return dict(zip(self.paths, self.names, strict=True))


def dedupe(kind: str, files: list[tuple[str, str]], hashes: list[str], fmt: str | None) -> Source:
    """A Source of ``files`` ((path, name) pairs) keeping the first of each content hash.

    A file given twice, under any name, would be counted twice; it is dropped
    with a notice naming both.
    """
    seen: dict[str, str] = {}
    keep: list[tuple[str, str, str]] = []
    notices = []
    for (path, name), digest in zip(files, hashes, strict=True):
        if digest in seen:
            notices.append(f"{name} has the same content as {seen[digest]}: it is analysed once.")
            continue
        seen[digest] = name
        keep.append((path, name, digest))
    return Source(
        kind,
        tuple(p for p, _, _ in keep),
        tuple(n for _, n, _ in keep),
        tuple(d for _, _, d in keep),
        fmt,
        tuple(notices),
    )


def _safe(name: str) -> str:
    return "".join(c for c in Path(name).name if c.isalnum() or c in "._-") or "upload.log"


def store_upload(name: str, data: bytes, data_dir: Path) -> Path:
    """Save an upload content-addressed; the same bytes under another name reuse the stored file."""
    digest = hashlib.sha256(data).hexdigest()[:16]
    folder = Path(data_dir) / "uploads" / digest
    existing = sorted(folder.iterdir()) if folder.is_dir() else []
    if existing:
        return existing[0]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / _safe(name)
    tmp = folder / (".part-" + target.name)
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


def discard_upload(path: Path | str, data_dir: Path) -> bool:
    """Delete a stored upload (a rejected one); anything outside the uploads folder is left alone."""
    root = (Path(data_dir) / "uploads").resolve()
    target = Path(path).resolve()
    if root not in target.parents or not target.is_file():
        return False
    folder = target.parent
    target.unlink()
    if folder != root and not any(folder.iterdir()):
        folder.rmdir()
    return True
