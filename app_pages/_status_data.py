"""Cached probes for the Status, Runs, Reports and Overview pages (no business logic here)."""

from __future__ import annotations

import os

import streamlit as st

from copilot.config import Settings, load_settings
from copilot.dashboard.temporal import temporal_problem


def settings() -> Settings:
    return load_settings()


@st.cache_data(ttl=10, show_spinner=False)
def _problem(address: str, namespace: str, what: str) -> str | None:
    return temporal_problem(load_settings(), what)


def temporal_down(what: str) -> str | None:
    """One sentence when Temporal does not answer (probed at most every 10 s), else None."""
    s = load_settings()
    return _problem(s.temporal_address, s.temporal_namespace, what)


@st.cache_data(ttl=5, show_spinner="Asking Temporal, the workers and the endpoints…")
def status_doc(data_dir: str) -> dict:
    from copilot.estate.status import collect_status

    return collect_status(load_settings(), dict(os.environ))


def estate(data_dir: str) -> dict | None:
    from pathlib import Path

    from copilot.estate.estate_file import running_estate

    return running_estate(Path(data_dir).resolve())
