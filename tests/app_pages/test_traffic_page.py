"""The Traffic page: the sample, a file from disk, a bad file, uploads (stored once, rejected ones deleted)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.paths import LOGS, ROOT

pytestmark = pytest.mark.slow  # runs the Streamlit page (AppTest)


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("ATC_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(ROOT)
    return AppTest.from_file(str(ROOT / "app_pages" / "traffic.py"), default_timeout=120)


def _metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def test_page_renders_the_bundled_sample(app: AppTest) -> None:
    app.run()
    assert not app.exception
    assert int(_metrics(app)["Requests"].replace(",", "")) > 80_000
    assert len(app.dataframe) >= 4  # anomalies + proxies/apps/endpoints tabs
    assert any("Analysing: **bundled sample" in c.value for c in app.sidebar.caption)


def test_the_proxy_filter_changes_the_totals_and_the_tables(app: AppTest) -> None:
    app.run()
    everything = int(_metrics(app)["Requests"].replace(",", ""))
    app.multiselect(key="traffic_proxies").set_value(["orders"]).run()
    assert not app.exception
    only = int(_metrics(app)["Requests"].replace(",", ""))
    assert 0 < only < everything
    proxies_tab = app.tabs[0].dataframe[0].value
    assert list(proxies_tab["proxy"]) == ["orders"]
    assert int(proxies_tab["requests"].sum()) == only
    assert set(app.dataframe[0].value["proxy"]) <= {"orders"}  # anomalies


def test_page_renders_a_file_from_disk_with_its_rejected_lines(app: AppTest) -> None:
    app.run()
    app.radio(key="source_kind").set_value("Path on disk").run()
    app.text_input(key="source_paths").input(str(LOGS / "analytics_export.csv")).run()
    assert not app.exception
    assert _metrics(app)["Requests"] == "7"
    assert any("3 lines rejected" in c.value for c in app.caption)


def test_the_same_file_twice_is_analysed_once_with_a_notice(app: AppTest) -> None:
    app.run()
    app.radio(key="source_kind").set_value("Path on disk").run()
    one = str(LOGS / "analytics_export.csv")
    app.text_input(key="source_paths").input(f"{one}, {one}").run()
    assert not app.exception
    assert _metrics(app)["Requests"] == "7"
    assert "same content" in app.sidebar.info[0].value


def test_a_non_log_file_shows_one_sentence_without_internals(app: AppTest) -> None:
    app.run()
    app.radio(key="source_kind").set_value("Path on disk").run()
    app.text_input(key="source_paths").input(str(LOGS / "not_a_log.bin")).run()
    assert not app.exception
    (message,) = [e.value for e in app.error]
    assert message.startswith("not_a_log.bin: ")
    for internal in ("LogFormatError", "--format", str(LOGS)):
        assert internal not in message


def test_page_renders_an_uploaded_file_stored_once(app: AppTest, tmp_path: Path) -> None:
    app.run()
    app.radio(key="source_kind").set_value("Upload").run()
    content = (LOGS / "syslog.log").read_bytes()
    app.file_uploader(key="source_upload").upload("mp-7f9c.log", content, "text/plain").run()
    assert not app.exception
    assert _metrics(app)["Requests"] == "4"
    saved = [p for p in (tmp_path / "uploads").rglob("*") if p.is_file()]
    assert len(saved) == 1 and saved[0].read_bytes() == content


def test_a_rejected_upload_is_deleted_and_named_as_uploaded(app: AppTest, tmp_path: Path) -> None:
    app.run()
    app.radio(key="source_kind").set_value("Upload").run()
    content = (LOGS / "not_a_log.bin").read_bytes()
    app.file_uploader(key="source_upload").upload(
        "mine.bin", content, "application/octet-stream"
    ).run()
    assert not app.exception
    assert app.error[0].value.startswith("mine.bin: ")
    assert not [p for p in (tmp_path / "uploads").rglob("*") if p.is_file()]


def test_nothing_chosen_says_what_to_do(app: AppTest) -> None:
    app.run()
    app.radio(key="source_kind").set_value("Path on disk").run()
    assert not app.exception
    assert app.info[0].value.startswith("Choose a log source in the sidebar")
