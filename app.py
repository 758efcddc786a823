"""atc dashboard: navigation and session set-up only; pages live in app_pages/.

The sidebar's log source, format, bundle and headroom are rendered here on
every run, before the page, so they are chosen once and hold across pages.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_pages import _source

PAGES = Path(__file__).resolve().parent / "app_pages"

st.set_page_config(page_title="atc — Apigee × Temporal copilot", layout="wide")

_PAGES = [
    ("overview.py", "Overview", ":material/dashboard:"),
    ("traffic.py", "Traffic", ":material/monitoring:"),
    ("throttling.py", "Throttling", ":material/speed:"),
    ("scopes.py", "Scopes", ":material/key:"),
    ("drafts.py", "Drafts", ":material/account_tree:"),
    ("runs.py", "Runs", ":material/play_circle:"),
    ("reports.py", "Reports", ":material/description:"),
    ("status.py", "Status", ":material/health_and_safety:"),
]

pages = [
    st.Page(str(PAGES / file), title=title, icon=icon, default=(file == "overview.py"))
    for file, title, icon in _PAGES
    if (PAGES / file).exists()
]
_source.run_page(st.navigation(pages))
