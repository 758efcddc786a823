"""The Runs page without Temporal, and with a dev server but nothing approved yet."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app_pages.conftest import page
from tests.workflows.devserver import dev_server

pytestmark = pytest.mark.slow  # runs the Streamlit page (AppTest)


def test_temporal_down_says_so_and_what_to_do(page_env: Path) -> None:
    app = page("app_pages/runs.py")
    app.run()
    assert not app.exception
    (warning,) = [w.value for w in app.warning]
    assert "so runs cannot be shown" in warning and "`make run`" in warning


@pytest.mark.slow
def test_no_approved_draft_points_to_the_drafts_page(
    page_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with dev_server(tmp_path) as server:
        monkeypatch.setenv("ATC_TEMPORAL_ADDRESS", server.address)
        app = page("app_pages/runs.py")
        app.run()
    assert not app.exception
    assert app.info[0].value.startswith("No approved draft yet")
    assert any(c.value == "No run yet." for c in app.caption)
