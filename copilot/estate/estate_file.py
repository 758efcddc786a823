"""``<data_dir>/estate.json``: where the running estate listens, for other commands.

``atc up`` writes it once everything is ready and removes it when it stops.
It holds addresses, process ids and file paths, never a secret: the gateway's
signing key appears only as a ``file:`` reference. A file left behind by an
``atc up`` that was killed is recognised as stale (its pid is gone, or is no
longer an ``atc up``) and ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ESTATE_FILE = "estate.json"


def estate_path(data_dir: Path) -> Path:
    """Where the estate file of ``data_dir`` lives."""
    return Path(data_dir) / ESTATE_FILE


def write_estate(data_dir: Path, doc: dict[str, Any]) -> Path:
    """Write the estate document atomically (readers never see half a file)."""
    path = estate_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_estate(data_dir: Path) -> dict[str, Any] | None:
    """The estate document, or None when there is none or it is unreadable."""
    try:
        doc = json.loads(estate_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def pid_alive(pid: int, marker: str | None = None) -> bool:
    """Whether ``pid`` runs (and, with ``marker``, its command line contains it).

    The marker guards against a recycled pid: after a reboot or a long time
    the number may belong to an unrelated process.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return marker is None
    if marker is None:
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return True  # no /proc: trust the pid
    return marker.encode() in cmdline


def running_estate(data_dir: Path) -> dict[str, Any] | None:
    """The estate of a live ``atc up`` for ``data_dir``, or None (none, or stale)."""
    doc = read_estate(data_dir)
    if doc is None or not pid_alive(int(doc.get("pid") or 0), marker="up"):
        return None
    return doc


def remove_estate(data_dir: Path, pid: int) -> None:
    """Remove the estate file if it is ``pid``'s (another ``atc up`` may own it now)."""
    doc = read_estate(data_dir)
    if doc is not None and doc.get("pid") == pid:
        estate_path(data_dir).unlink(missing_ok=True)
