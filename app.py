"""atc dashboard: navigation and session set-up only; pages live in app_pages/."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).resolve().parent / "app_pages"

st.set_page_config(page_title="atc — Apigee × Temporal copilot", layout="wide")

_PAGES = [
    ("traffic.py", "Traffic", ":material/monitoring:"),
    ("throttling.py", "Throttling", ":material/speed:"),
    ("scopes.py", "Scopes", ":material/key:"),
    ("drafts.py", "Drafts", ":material/account_tree:"),
]

pages = [
    st.Page(str(PAGES / file), title=title, icon=icon, default=(file == "traffic.py"))
    for file, title, icon in _PAGES
    if (PAGES / file).exists()
]
st.navigation(pages).run()
