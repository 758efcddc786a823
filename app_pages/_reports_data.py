"""Calls the Reports page makes: delivered copies on disk, schedules through ``atc reports``' starter."""

from __future__ import annotations

import streamlit as st

from copilot.config import load_settings
from copilot.dashboard import reports as view


def delivered() -> list[view.Delivered]:
    return view.delivered(load_settings().data_dir)


@st.cache_data(ttl=5, show_spinner=False)
def schedules(address: str) -> list[dict]:
    return view.list_schedules(load_settings())
