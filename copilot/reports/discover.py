"""Which log files a report has not read yet, and where a report's files live.

A report is named by the user; the name becomes a directory and a schedule id,
so it is checked first. A file counts as new when its path, size or
modification time differs from what the last delivered report recorded.
"""

from __future__ import annotations

import glob
import json
import logging
import re
from pathlib import Path
from typing import Any

from copilot.errors import InputError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
SEEN_FILE = "seen.json"
_log = logging.getLogger(__name__)


def check_name(name: str) -> str:
    """A report name: letters, digits, ``-`` and ``_``, at most 64 characters."""
    if not _NAME.match(name or ""):
        raise InputError(f"report name {name!r}: use letters, digits, - and _ (at most 64)")
    return name


def report_root(data_dir: Path | str, name: str) -> Path:
    """``<data_dir>/reports/<NAME>``."""
    return Path(data_dir) / "reports" / check_name(name)


def looks_like_log(path: Path) -> bool:
    """Whether a file found in a directory or glob is an Apigee log atc can read.

    A log folder often holds other files too (a README, a scenario file): those
    are left out of the report's input, and the worker logs each one with why,
    rather than failing the whole run on them.
    """
    from copilot.logs.detect import detect
    from copilot.logs.sources import peek

    try:
        detect(path, peek(path))
    except (InputError, OSError, UnicodeDecodeError) as exc:
        _log.warning("not a log, left out of the report: %s (%s)", path, exc)
        return False
    return True


def list_logs(logs: str) -> list[Path]:
    """The log files a ``--logs`` value names: a directory's files, or a glob's matches."""
    root = Path(logs).expanduser()
    if root.is_dir():
        found = [p for p in root.iterdir() if p.is_file() and not p.name.startswith(".")]
    else:
        found = [Path(p) for p in glob.glob(str(root)) if Path(p).is_file()]
    return sorted(p.resolve() for p in found if looks_like_log(p))


def fingerprint(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def load_seen(data_dir: Path | str, name: str) -> dict[str, Any]:
    path = report_root(data_dir, name) / SEEN_FILE
    if not path.exists():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")))


def new_files(data_dir: Path | str, name: str, logs: str) -> list[str]:
    """Files under ``logs`` that the last delivered report did not read (sorted)."""
    seen = load_seen(data_dir, name)
    return [str(p) for p in list_logs(logs) if seen.get(str(p)) != fingerprint(p)]


def mark_seen(data_dir: Path | str, name: str, files: list[str]) -> None:
    """Record ``files`` as read (after their report was delivered)."""
    seen = load_seen(data_dir, name)
    for f in files:
        path = Path(f)
        if path.exists():
            seen[f] = fingerprint(path)
    root = report_root(data_dir, name)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / (SEEN_FILE + ".tmp")
    tmp.write_text(json.dumps(seen, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(root / SEEN_FILE)
