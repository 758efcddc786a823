"""The throttling advice for the pages: one cached computation shared by Overview and Throttling.

Keyed on the source's content hashes and format, the headroom and the
bundle's content, so visiting both pages (in any order, in any session)
computes it once. First load shows progress with counts and a Cancel button
that works at every stage (reading, replay, forecast): the computation runs in
a worker thread the page watches (copilot.dashboard.cancel). The analysis the
advice reads on the way is handed to the Traffic cache too.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from app_pages._data import _analyses, column_config
from app_pages._source import UPLOAD, current_source
from copilot.dashboard.cache import LruCache
from copilot.dashboard.cancel import Checkpoint, run_cancellable
from copilot.dashboard.errors import say
from copilot.dashboard.sources import Source, bundle_hash
from copilot.errors import AtcError, BundleError
from copilot.logs.reader import ReadOptions
from copilot.pipeline import AnalysisRun
from copilot.throttling.run import SuggestRun, suggest_paths


@st.cache_resource(show_spinner=False)
def advice_cache() -> LruCache[SuggestRun]:
    # Shared by every session and both pages; the pages only read the advice.
    return LruCache(4)


@st.cache_data(show_spinner=False, max_entries=64)
def _bundle_digest(path: str, stamp: tuple[int, int, int]) -> str:
    # Keyed on the newest mtime, file count and total size: an edited bundle is hashed again.
    return bundle_hash(path)


def _stamp(path: Path) -> tuple[int, int, int]:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    stats = [f.stat() for f in files]
    return max((s.st_mtime_ns for s in stats), default=0), len(stats), sum(s.st_size for s in stats)


def advice_key(source: Source, headroom: float, bundle: str | None) -> tuple:
    """What the advice depends on: the logs' contents, format, headroom and bundle contents."""
    digest = _bundle_digest(bundle, _stamp(Path(bundle))) if bundle else None
    return ("advice", source.key, round(float(headroom), 4), digest)


_CANCELLED = "_atc_advice_cancelled"  # advice keys whose computation this session cancelled


def _cancel(key: tuple) -> None:
    # A button's on_click runs first in the next run; the running one was stopped by the click.
    st.session_state.setdefault(_CANCELLED, set()).add(key)


def _resume(key: tuple) -> None:
    st.session_state.setdefault(_CANCELLED, set()).discard(key)


def _label(source: Source, where: Checkpoint, took: float) -> str:
    if where.stage == "reading":
        return (
            f"{source.label}: {where.records:,} records read ({took:.0f} s); replaying limits "
            "and forecasting follow…"
        )
    return f"{source.label}: {where.records:,} records read; {where.stage} ({took:.0f} s)…"


def _compute(source: Source, headroom: float, bundle: str | None, key: tuple) -> SuggestRun:
    box = st.status(f"Reading {source.label}…", expanded=False)
    slot = st.empty()
    slot.button(
        "Cancel", key="advice_cancel", on_click=_cancel, args=(key,),
        help="Stop computing the advice (at any stage); nothing is kept.",
    )  # fmt: skip
    started = time.monotonic()
    run = run_cancellable(
        lambda checkpoint: suggest_paths(
            list(source.paths),
            ReadOptions(fmt=source.fmt),
            headroom=headroom,
            bundles=[bundle] if bundle else [],
            progress=checkpoint,
            step=checkpoint,
        ),
        # Each label update is a Streamlit call: where a click on Cancel stops this run.
        lambda where: box.update(label=_label(source, where, time.monotonic() - started)),
    )
    slot.empty()  # only when done: a cancelled run ends here and the next run redraws the page
    took = time.monotonic() - started
    box.update(
        label=f"Advice from {run.quarantine.records:,} records: "
        f"{len(run.report.suggestions)} suggestions in {took:.1f} s",
        state="complete",
    )
    # The same pass analysed the traffic: Traffic and Overview need not read the files again.
    analyses = _analyses()
    if source.key not in analyses:
        analyses.put(source.key, AnalysisRun(run.analysis, run.quarantine, run.sources))
    return run


def _cancelled(source: Source, key: tuple) -> bool:
    """Say so, with a button to start again, when this session cancelled the advice for ``key``."""
    if key not in st.session_state.get(_CANCELLED, set()):
        return False
    st.info(
        f"Cancelled: the advice for {source.label} was not computed. Start it again, or change "
        "the source or options in the sidebar."
    )
    st.button("Compute the advice", key="advice_resume", on_click=_resume, args=(key,))
    return True


def advice_for(source: Source | None, headroom: float, bundle: str | None) -> SuggestRun | None:
    """The advice for the session's source (cached), or None after saying why."""
    source = source or current_source()
    if not source.paths:
        st.info(
            "Choose a log source in the sidebar: the bundled sample, files on disk or an upload."
        )
        return None
    try:
        if bundle and not Path(bundle).exists():
            raise BundleError(f"{bundle}: no such file or folder")
        key = advice_key(source, headroom, bundle)
        found = advice_cache().get(key)
        if found is not None or _cancelled(source, key):
            return found
        return advice_cache().get_or_make(key, lambda: _compute(source, headroom, bundle, key))
    except AtcError as exc:
        st.error(say(exc, source.name_map()))
        if source.kind == UPLOAD and not isinstance(exc, BundleError):
            from app_pages._data import _discard

            _discard(source, exc)
        return None


def show(frame, name: str, *, key: str, percent: tuple[str, ...] = ()) -> None:  # noqa: ANN001
    """A sortable table as tall as its rows, with help on every column; ``percent`` columns as %."""
    config = column_config(frame, name)
    for column in percent:
        help_text = config[column].get("help") if column in config else None
        config[column] = st.column_config.NumberColumn(column, help=help_text, format="percent")
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=38 + 35 * max(1, len(frame)),
        column_config=config,
        key=key,
    )
