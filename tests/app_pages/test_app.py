"""The whole app: the sidebar's choices hold across pages; Streamlit's developer menu is hidden."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.app_pages.conftest import page
from tests.paths import LOGS, ROOT

pytestmark = pytest.mark.slow  # runs every Streamlit page (AppTest)


def test_the_log_source_holds_when_the_page_changes(page_env: Path) -> None:
    app = page("app.py")
    app.run()
    assert not app.exception
    assert app.title[0].value == "Overview"
    app.radio(key="source_kind").set_value("Path on disk").run()
    app.text_input(key="source_paths").input(str(LOGS / "analytics_export.csv")).run()
    app.slider(key="headroom").set_value(1.5).run()
    for target in ("app_pages/traffic.py", "app_pages/scopes.py", "app_pages/traffic.py"):
        app.switch_page(target).run()
        assert not app.exception
        assert app.radio(key="source_kind").value == "Path on disk"
        assert app.slider(key="headroom").value == 1.5
        assert any("Analysing: **analytics_export.csv**" in c.value for c in app.sidebar.caption)
    assert {m.label: m.value for m in app.metric}["Requests"] == "7"


def test_every_page_is_in_the_navigation_and_renders_on_the_sample(page_env: Path) -> None:
    app = page("app.py", timeout=300)
    app.run()
    for name in ("overview", "traffic", "scopes", "runs", "reports", "status"):
        app.switch_page(f"app_pages/{name}.py").run()
        assert not app.exception, (name, app.exception[0].value if app.exception else None)
        assert app.title[0].value == name.capitalize()


def test_the_deploy_and_developer_menu_is_hidden() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] in ("viewer", "minimal")
    assert config["client"]["showErrorDetails"] == "none"
