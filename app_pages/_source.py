"""The log source picker shared by the pages: bundled sample, a path on disk, or an upload."""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from copilot.config import load_settings
from copilot.logs.detect import FORMATS

SAMPLE = "Bundled sample"
DISK = "Path on disk"
UPLOAD = "Upload"


def choose_logs() -> tuple[tuple[str, ...], str | None]:
    """Render the sidebar picker; return the chosen file paths and forced format (if any)."""
    settings = load_settings()
    with st.sidebar:
        st.subheader("Logs")
        kind = st.radio(
            "Source", [SAMPLE, DISK, UPLOAD], key="source_kind", label_visibility="collapsed"
        )
        fmt = st.selectbox("Format", ["auto-detect", *FORMATS], key="source_format")
        paths: tuple[str, ...] = ()
        if kind == SAMPLE:
            paths = (str(settings.sample_path),)
            st.caption("7 days of generated Apigee analytics (see copilot/data/sample).")
        elif kind == DISK:
            text = st.text_input("File path(s), comma-separated", key="source_paths")
            paths = tuple(p.strip() for p in text.split(",") if p.strip())
        else:
            upload = st.file_uploader("Apigee log file", key="source_upload")
            if upload is not None:
                paths = (str(_save_upload(upload.name, upload.getvalue(), settings.data_dir)),)
    return paths, None if fmt == "auto-detect" else fmt


def _save_upload(name: str, data: bytes, data_dir: Path) -> Path:
    # Content-addressed, so a re-run of the page hits the analysis cache.
    digest = hashlib.sha256(data).hexdigest()[:16]
    safe = "".join(c for c in Path(name).name if c.isalnum() or c in "._-") or "upload.log"
    target = data_dir / "uploads" / f"{digest}-{safe}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return target
