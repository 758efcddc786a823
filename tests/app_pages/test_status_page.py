"""The Status page: everything down says so with what to do; a real dev server shows as up."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app_pages.conftest import page
from tests.workflows.devserver import dev_server

pytestmark = pytest.mark.slow  # runs the Streamlit page (AppTest)


def test_temporal_down_is_one_sentence_with_what_to_do(page_env: Path) -> None:
    app = page("app_pages/status.py")
    app.run()
    assert not app.exception
    (warning,) = [w.value for w in app.warning]
    assert warning.startswith("Temporal is not reachable at 127.0.0.1:") and "`make run`" in warning
    parts = app.dataframe[0].value.set_index("part")
    assert parts.loc["Temporal", "state"] == "down"
    assert parts.loc["LLM endpoint", "state"] == "not configured"


@pytest.mark.slow
def test_a_running_dev_server_is_up_with_its_namespace(
    page_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with dev_server(tmp_path) as server:
        monkeypatch.setenv("ATC_TEMPORAL_ADDRESS", server.address)
        app = page("app_pages/status.py")
        app.run()
    assert not app.exception
    parts = app.dataframe[0].value.set_index("part")
    assert parts.loc["Temporal", "state"] == "up"
    assert server.address in parts.loc["Temporal", "detail"]
    assert not app.warning
