"""The Overview page: what needs attention on the sample, drafts waiting, and Temporal down."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.config import Settings
from copilot.drafting.service import DraftJob, run_draft
from tests.app_pages.conftest import page
from tests.drafting.specs import FLAGSHIP_REQUEST, FLAGSHIP_SCOPES
from tests.paths import LOGS

pytestmark = pytest.mark.slow  # runs the Streamlit page (AppTest)


def test_the_sample_lists_anomalies_and_throttling_findings(page_env: Path) -> None:
    app = page("app_pages/overview.py")
    app.run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert int(metrics["Anomalies"]) > 0 and int(metrics["Throttling findings"]) > 0
    assert metrics["Failed runs"] == "–"  # Temporal is not reachable in this test
    attention = app.dataframe[0].value
    assert {"Traffic", "Throttling"} <= set(attention["page"])
    assert "make run" in " ".join(c.value for c in app.caption)


def test_a_draft_waiting_for_review_is_listed(page_env: Path) -> None:
    doc = run_draft(
        DraftJob(FLAGSHIP_REQUEST, FLAGSHIP_SCOPES, actor="author", planner="offline"),
        settings=Settings(data_dir=page_env),
    )
    app = page("app_pages/overview.py")
    app.run()
    assert not app.exception
    assert {m.label: m.value for m in app.metric}["Drafts waiting"] == "1"
    rows = app.dataframe[0].value
    assert rows[rows["page"] == "Drafts"]["where"].iloc[0].startswith(doc["draft_id"])


def test_no_source_says_what_to_do(page_env: Path) -> None:
    app = page("app_pages/overview.py")
    app.run()
    app.radio(key="source_kind").set_value("Upload").run()
    assert not app.exception
    assert app.info[0].value.startswith("Choose a log source")


def test_unreadable_logs_say_so_once(page_env: Path) -> None:
    app = page("app_pages/overview.py")
    app.run()
    app.radio(key="source_kind").set_value("Path on disk").run()
    bad = LOGS / "not_a_log.bin"
    app.text_input(key="source_paths").input(str(bad)).run()
    assert not app.exception and not app.metric
    assert len(app.error) == 1 and "sidebar" in app.error[0].value


def test_a_missing_bundle_leaves_the_rest_of_the_overview(page_env: Path) -> None:
    app = page("app_pages/overview.py")
    app.run()
    app.text_input(key="bundle_path").input("/no/such/bundle").run()
    assert not app.exception and len(app.error) == 1
    assert int({m.label: m.value for m in app.metric}["Anomalies"]) > 0
