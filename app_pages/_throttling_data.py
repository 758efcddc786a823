"""Cached calls into copilot.throttling for the Throttling page (no business logic here)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_pages._data import file_stamp
from copilot.errors import AtcError
from copilot.logs.reader import ReadOptions
from copilot.throttling.run import SuggestRun, suggest_paths


@st.cache_data(show_spinner="Reading logs, replaying limits, forecasting…", max_entries=8)
def _suggest(
    stamped: tuple[tuple[str, float, int], ...],
    fmt: str | None,
    headroom: float,
    bundle: tuple[tuple[str, float, int], ...],
) -> SuggestRun:
    return suggest_paths(
        [p for p, _, _ in stamped],
        ReadOptions(fmt=fmt),
        headroom=headroom,
        bundles=[p for p, _, _ in bundle],
    )


def suggestions_for(
    paths: tuple[str, ...], fmt: str | None, headroom: float, bundle: str | None
) -> SuggestRun | None:
    """The advice for ``paths`` (cached on paths, mtimes, sizes and options), or None."""
    if not paths:
        st.info("Choose a log source in the sidebar.")
        return None
    bundle_paths = (bundle,) if bundle and Path(bundle).exists() else ()
    if bundle and not bundle_paths:
        st.error(f"BundleError: {bundle}: no such file or directory")
        return None
    try:
        return _suggest(file_stamp(paths), fmt, headroom, file_stamp(bundle_paths))
    except AtcError as exc:
        st.error(exc.line())
        return None
