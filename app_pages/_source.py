"""The session's log source and advice options, chosen once in the sidebar for every page.

``app.py`` calls :func:`sidebar` once per run, before the page; a page asks
:func:`current_source` and gets what the sidebar
chose. Run on its own (as AppTest runs one page), a page renders the sidebar
itself. The widgets are rendered on every page with the same keys, so
Streamlit keeps their values when the page changes.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from copilot.config import load_settings
from copilot.dashboard.sources import Source, content_hash, dedupe, store_upload
from copilot.errors import AtcError
from copilot.logs.detect import FORMATS
from copilot.throttling.options import DEFAULT_HEADROOM, HEADROOM_MAX, HEADROOM_MIN

SAMPLE = "Bundled sample"
DISK = "Path on disk"
UPLOAD = "Upload"
_RENDERED = "_atc_sidebar_rendered"
_SOURCE = "_atc_source"
_ADVICE = "_atc_advice"
_STORED = "_atc_uploads"  # upload file_id -> stored path (hashing once per upload)


@st.cache_data(show_spinner=False, max_entries=256)
def _hash(path: str, mtime_ns: int, size: int) -> str:
    # Keyed on mtime and size too, so an edited file is hashed again.
    return content_hash(path)


def _hashes(paths: list[str]) -> list[str]:
    out = []
    for p in paths:
        stat = Path(p).stat()
        out.append(_hash(p, stat.st_mtime_ns, stat.st_size))
    return out


def _disk_files(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    files, missing = [], []
    for raw in (p.strip() for p in text.split(",")):
        if not raw:
            continue
        path = Path(raw).expanduser()
        (files if path.is_file() else missing).append((str(path), path.name))
    return files, [Path(p).name or p for p in (m[0] for m in missing)]


def _upload_files(uploads: list, data_dir: Path) -> list[tuple[str, str]]:  # noqa: ANN001
    stored = st.session_state.setdefault(_STORED, {})
    files = []
    for upload in uploads:
        if upload.file_id not in stored:
            stored[upload.file_id] = str(store_upload(upload.name, upload.getvalue(), data_dir))
        if Path(stored[upload.file_id]).exists():
            files.append((stored[upload.file_id], upload.name))
    return files


def _render() -> Source:
    settings = load_settings()
    st.subheader("Logs")
    kind = st.radio(
        "Source", [SAMPLE, DISK, UPLOAD], key="source_kind", label_visibility="collapsed"
    )
    fmt = st.selectbox("Format", ["auto-detect", *FORMATS], key="source_format")
    forced = None if fmt == "auto-detect" else fmt
    files: list[tuple[str, str]] = []
    if kind == SAMPLE:
        files = [(str(settings.sample_path), "bundled sample (7 days)")]
    elif kind == DISK:
        text = st.text_input("File path(s), comma-separated", key="source_paths")
        files, missing = _disk_files(text)
        for name in missing:
            st.warning(f"{name}: no such file; check the path.")
    else:
        uploads = st.file_uploader(
            "Apigee log files", key="source_upload", accept_multiple_files=True
        )
        files = _upload_files(list(uploads or []), settings.data_dir)
    try:
        source = dedupe(kind, files, _hashes([p for p, _ in files]), forced)
    except AtcError as exc:  # a file vanished or cannot be read
        from copilot.dashboard.errors import say

        st.error(say(exc))
        source = Source(kind, fmt=forced)
    for notice in source.notices:
        st.info(notice)
    st.caption(f"Analysing: **{source.label}**")
    return source


def _render_advice() -> tuple[float, str | None]:
    st.subheader("Advice")
    headroom = st.slider(
        "Headroom on the forecast peak",
        HEADROOM_MIN,
        HEADROOM_MAX,
        DEFAULT_HEADROOM,
        0.05,
        key="headroom",
    )
    bundle = st.text_input("Current proxy bundle (folder or .zip, optional)", key="bundle_path")
    return float(headroom), bundle.strip() or None


def sidebar() -> Source:
    """Render the sidebar's source and advice controls (once per run) and remember them."""
    with st.sidebar:
        st.session_state[_SOURCE] = _render()
        st.session_state[_ADVICE] = _render_advice()
    return st.session_state[_SOURCE]


def run_page(page: st.Page) -> None:  # type: ignore[name-defined]
    """app.py: render the sidebar, then the page, which reads the sidebar's choices."""
    sidebar()
    st.session_state[_RENDERED] = True
    try:
        page.run()
    finally:
        # The next run renders the sidebar again; a page run alone renders its own.
        st.session_state[_RENDERED] = False


def current_source() -> Source:
    """The source the sidebar chose in this run.

    When app.py did not render the sidebar (a page run on its own), this
    renders the source controls: call it once per run.
    """
    if not st.session_state.get(_RENDERED):
        with st.sidebar:
            return _render()
    return st.session_state[_SOURCE]


def advice_options() -> tuple[float, str | None]:
    """Headroom and the current proxy bundle (or None), as chosen in the sidebar.

    Like :func:`current_source`, renders its controls on a page run alone: call it once per run.
    """
    if not st.session_state.get(_RENDERED):
        with st.sidebar:
            return _render_advice()
    return st.session_state[_ADVICE]
