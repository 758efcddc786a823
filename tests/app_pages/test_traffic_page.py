"""The Traffic page runs with no exception on the bundled sample and on an upload."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "tests" / "fixtures" / "logs"


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("ATC_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(ROOT)
    return AppTest.from_file(str(ROOT / "app_pages" / "traffic.py"), default_timeout=120)


def test_page_renders_the_bundled_sample(app: AppTest) -> None:
    app.run()
    assert not app.exception
    labels = {m.label: m.value for m in app.metric}
    assert int(labels["Records"].replace(",", "")) > 80_000
    assert len(app.dataframe) >= 4  # anomalies + proxies/apps/endpoints tabs


def test_page_renders_a_file_from_disk_with_its_rejected_lines(app: AppTest) -> None:
    app.run()
    app.radio(key="source_kind").set_value("Path on disk").run()
    app.text_input(key="source_paths").input(str(LOGS / "analytics_export.csv")).run()
    assert not app.exception
    labels = {m.label: m.value for m in app.metric}
    assert labels["Records"] == "7" and labels["Rejected lines"] == "3"


def test_a_non_log_file_shows_one_clear_error(app: AppTest) -> None:
    app.run()
    app.radio(key="source_kind").set_value("Path on disk").run()
    app.text_input(key="source_paths").input(str(LOGS / "not_a_log.bin")).run()
    assert not app.exception
    assert any("LogFormatError" in e.value for e in app.error)


def test_page_renders_an_uploaded_file(app: AppTest, tmp_path: Path) -> None:
    app.run()
    app.radio(key="source_kind").set_value("Upload").run()
    content = (LOGS / "syslog.log").read_bytes()
    app.file_uploader(key="source_upload").upload("mp-7f9c.log", content, "text/plain").run()
    assert not app.exception
    labels = {m.label: m.value for m in app.metric}
    assert labels["Records"] == "4" and labels["Rejected lines"] == "2"
    saved = list((tmp_path / "uploads").iterdir())
    assert len(saved) == 1 and saved[0].read_bytes() == content
