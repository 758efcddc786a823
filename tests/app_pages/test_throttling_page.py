"""The Throttling page renders suggestions, charts and the download on the bundled sample."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "tests" / "fixtures" / "logs"
BUNDLES = ROOT / "tests" / "fixtures" / "bundles" / "shopco"


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("ATC_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(ROOT)
    return AppTest.from_file(str(ROOT / "app_pages" / "throttling.py"), default_timeout=180)


def test_page_renders_the_bundled_sample(app: AppTest) -> None:
    app.run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert int(metrics["Suggestions"]) > 10 and metrics["Abusive clients"] == "1"
    assert metrics["Capacity conflicts"] == "1"
    assert len(app.dataframe) >= 3  # suggestions, forecast, excluded
    assert any("capacity, not throttling" in w.value for w in app.warning)
    assert any("dealfinder-app" in e.value for e in app.error)
    app.selectbox(key="throttling_proxy").set_value("catalog").run()
    app.selectbox(key="forecast_target").set_value("app: storefront-web").run()
    assert not app.exception


def test_page_shows_current_limits_from_a_bundle(app: AppTest) -> None:
    app.run()
    app.text_input(key="bundle_path").input(str(BUNDLES)).run()
    assert not app.exception
    table = app.dataframe[0].value
    orders = table[(table["target"] == "orders") & (table["policy"] == "spike_arrest")]
    assert orders["current"].iloc[0].startswith("SA-Global 15pm")


def test_bad_inputs_show_one_clear_error(app: AppTest) -> None:
    app.run()
    app.text_input(key="bundle_path").input("/no/such/bundle").run()
    assert not app.exception and any("BundleError" in e.value for e in app.error)
    app.text_input(key="bundle_path").input("").run()
    app.radio(key="source_kind").set_value("Path on disk").run()
    app.text_input(key="source_paths").input(str(LOGS / "not_a_log.bin")).run()
    assert not app.exception and any("LogFormatError" in e.value for e in app.error)
