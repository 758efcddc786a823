"""The Reports page: delivered copies open in the page even with Temporal down."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.app_pages.conftest import page
from tests.paths import LOGS
from tests.workflows.devserver import WorkerProcess, dev_server, worker_env

pytestmark = pytest.mark.slow  # runs the Streamlit page (AppTest)


def _deliver(data_dir: Path, name: str, stamp: str, title: str) -> None:
    # The layout `atc reports` writes: <data_dir>/reports/<NAME>/<timestamp>/report.html ...
    folder = data_dir / "reports" / name / stamp
    folder.mkdir(parents=True)
    (folder / "report.html").write_text(f"<html><body><h1>{title}</h1></body></html>")
    (folder / "report.md").write_text(f"# {title}\n")


def test_nothing_delivered_and_temporal_down(page_env: Path) -> None:
    app = page("app_pages/reports.py")
    app.run()
    assert not app.exception
    assert app.info[0].value.startswith("No report delivered yet")
    assert "so report schedules cannot be shown" in app.warning[0].value


def test_delivered_copies_are_listed_newest_first_and_the_html_opens(page_env: Path) -> None:
    _deliver(page_env, "weekly", "20261123T060000.000Z", "Week 47")
    _deliver(page_env, "weekly", "20261130T060000.000Z", "Week 48")
    app = page("app_pages/reports.py")
    app.run()
    assert not app.exception
    listed = app.dataframe[0].value
    assert list(listed["last delivered"]) == ["2026-11-30 06:00 UTC", "2026-11-23 06:00 UTC"]
    assert app.selectbox(key="reports_open").value == "weekly — 2026-11-30 06:00 UTC"
    shown = [e for e in app.get("iframe")]
    assert shown and "Week 48" in shown[0].proto.srcdoc


def test_a_report_scheduled_from_the_page_runs_now_and_its_copy_opens(
    page_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = f"atc-reports-{uuid.uuid4().hex[:8]}"
    with dev_server(tmp_path) as server:
        monkeypatch.setenv("ATC_TEMPORAL_ADDRESS", server.address)
        monkeypatch.setenv("ATC_REPORTS_TASK_QUEUE", queue)
        env = worker_env(server, page_env, "unused", ATC_REPORTS_TASK_QUEUE=queue)
        worker = WorkerProcess(env, tmp_path / "worker.log", "workflows.reports.worker")
        try:
            worker.wait_for("atc reports worker: polling")
            app = page("app_pages/reports.py", timeout=180)
            app.run()
            assert any(c.value == "No report schedule yet." for c in app.caption)
            app.text_input(key="reports_name").input("weekly")
            app.text_input(key="reports_logs").input(str(LOGS / "analytics_export.csv"))
            next(b for b in app.button if b.label == "Save schedule").click().run()
            assert not app.exception and not app.error
            assert any(s.value == "Scheduled weekly." for s in app.success)
            app.run()
            listed = app.dataframe[0].value
            assert list(listed["report"]) == ["weekly"]
            assert listed["next run"].iloc[0].endswith(" UTC")
            app.button(key="reports_run_now").click().run()
            assert not app.exception and not app.error
            assert any(s.value.startswith("weekly: ") and "7 records" in s.value for s in app.success)
            app.run()
        finally:
            worker.stop()
    assert app.selectbox(key="reports_open").value.startswith("weekly — ")
    shown = list(app.get("iframe"))
    assert shown and "<html" in shown[0].proto.srcdoc.lower()
