"""Calls the Runs page makes: the same functions ``atc run`` and ``atc runs`` use."""

from __future__ import annotations

import getpass

import streamlit as st

from copilot.config import load_settings
from copilot.dashboard.runs import Runnable, runnable_drafts
from copilot.drafting.store import DraftStore


def store() -> DraftStore:
    return DraftStore.in_data_dir(load_settings().data_dir)


def runnable() -> tuple[list[Runnable], list[str]]:
    return runnable_drafts(store())


def who() -> str:
    """Who starts a run or answers an approval from the dashboard (recorded on the run)."""
    try:
        return f"{getpass.getuser()} (dashboard)"
    except (KeyError, OSError):
        return "dashboard"


@st.cache_data(ttl=3, show_spinner=False)
def runs_list(address: str) -> list[dict]:
    from workflows.runs.starter import list_runs

    return list_runs()


def show(run_id: str) -> dict:
    from workflows.runs.starter import show_run

    return show_run(run_id)


def start(item: Runnable, given: dict) -> dict:
    from workflows.runs.starter import start_run

    return start_run(item.draft_id, given, who(), version=item.version)


def decide(run_id: str, step: str, outcome: str, comment: str) -> str:
    from workflows.runs.starter import decide_run

    return decide_run(run_id, step, outcome, who(), comment)
