"""Cached calls into copilot for the pages (no business logic here)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from copilot.errors import AtcError
from copilot.logs.reader import ReadOptions
from copilot.pipeline import AnalysisRun, analyze_paths


def file_stamp(paths: tuple[str, ...]) -> tuple[tuple[str, float, int], ...]:
    """Path, mtime and size of each file: the cache key changes when a file does."""
    out = []
    for p in paths:
        path = Path(p)
        stat = path.stat() if path.exists() else None
        out.append((p, stat.st_mtime if stat else 0.0, stat.st_size if stat else -1))
    return tuple(out)


@st.cache_data(show_spinner="Reading and analysing logs…", max_entries=8)
def _analyze(stamped: tuple[tuple[str, float, int], ...], fmt: str | None) -> AnalysisRun:
    return analyze_paths([p for p, _, _ in stamped], ReadOptions(fmt=fmt))


def analysis_for(paths: tuple[str, ...], fmt: str | None) -> AnalysisRun | None:
    """The analysis of ``paths`` (cached on path, mtime and size), or None with an error shown."""
    if not paths:
        st.info("Choose a log source in the sidebar.")
        return None
    try:
        return _analyze(file_stamp(paths), fmt)
    except AtcError as exc:
        st.error(exc.line())
        return None
