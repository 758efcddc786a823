"""Cached calls into copilot for the pages, with progress and errors for people (no business logic)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd
import streamlit as st

from app_pages._source import UPLOAD, current_source
from copilot.config import load_settings
from copilot.dashboard.cache import LruCache
from copilot.dashboard.columns import help_for, number_format
from copilot.dashboard.errors import say
from copilot.dashboard.sources import Source, discard_upload
from copilot.errors import AtcError
from copilot.logs.reader import ReadOptions
from copilot.pipeline import AnalysisRun, analyze_paths

PROGRESS_EVERY_S = 0.25


@st.cache_resource(show_spinner=False)
def _analyses() -> LruCache[AnalysisRun]:
    # Shared by every session; the pages only read an analysis, so no copy is made per rerun.
    return LruCache(8)


class Progress:
    """A status box that counts records as a pass reads them (at most every PROGRESS_EVERY_S)."""

    def __init__(self, source: Source, counting: Callable[[int], str]) -> None:
        self.box = st.status(f"Reading {source.label}…", expanded=False)
        self.started, self._last, self._counting = time.monotonic(), 0.0, counting

    def __call__(self, records: int) -> None:
        now = time.monotonic()
        if now - self._last >= PROGRESS_EVERY_S:
            self._last = now
            self.box.update(label=self._counting(records))

    def done(self, label: Callable[[float], str]) -> None:
        """Close the box with ``label(seconds taken)``."""
        self.box.update(label=label(time.monotonic() - self.started), state="complete")


def _analyze(source: Source) -> AnalysisRun:
    progress = Progress(source, lambda n: f"Reading {source.label}: {n:,} records so far…")
    run = analyze_paths(list(source.paths), ReadOptions(fmt=source.fmt), progress=progress)
    progress.done(lambda took: f"Read {run.quarantine.records:,} records in {took:.1f} s")
    return run


def analysis_for(source: Source | None = None) -> AnalysisRun | None:
    """The analysis of the session's source (cached on content and format), or None with a message."""
    source = source or current_source()
    if not source.paths:
        st.info(
            "Choose a log source in the sidebar: the bundled sample, files on disk or an upload."
        )
        return None
    cache = _analyses()
    try:
        return cache.get_or_make(source.key, lambda: _analyze(source))
    except AtcError as exc:
        st.error(say(exc, source.name_map()))
        if source.kind == UPLOAD:
            _discard(source, exc)
        return None


def _discard(source: Source, exc: AtcError) -> None:
    # Delete the upload(s) the error names (all of them when it names none).
    named = [p for p in source.paths if p in exc.message] or list(source.paths)
    data_dir = load_settings().data_dir
    for path in named:
        discard_upload(path, data_dir)


def table(frame: pd.DataFrame, name: str, *, key: str | None = None, max_rows: int = 25) -> None:
    """A sortable table with help on every column, as tall as its rows (up to ``max_rows``)."""
    rows = max(1, min(len(frame), max_rows))
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=38 + 35 * rows,
        column_config=column_config(frame, name),
        key=key,
    )


def column_config(frame: pd.DataFrame, name: str) -> dict:
    """Streamlit column settings: each column's help, UTC times written out, numbers with units."""
    config = {}
    helps = help_for(name, list(frame.columns))
    for column in frame.columns:
        help_text = helps.get(column)
        fmt = number_format(name, column)
        if fmt is not None:
            # A number column sorts as numbers; a missing value (not measured) shows a grey None.
            config[column] = st.column_config.NumberColumn(column, help=help_text, format=fmt)
        elif pd.api.types.is_datetime64_any_dtype(frame[column]):
            config[column] = st.column_config.DatetimeColumn(
                column, help=help_text, format="YYYY-MM-DD HH:mm", timezone="UTC"
            )
        else:
            config[column] = st.column_config.Column(column, help=help_text)
    return config
