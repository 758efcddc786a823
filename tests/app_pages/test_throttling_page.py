"""The Throttling page: states (empty, error, data), words not JSON, the filter, the shared advice."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pandas as pd
import pytest
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.testing.v1 import AppTest

import app_pages._data as data
import app_pages._throttling_data as advice_data
import copilot.throttling.run as run_module
from copilot.dashboard.columns import NUMBER_FORMATS
from tests.app_pages.conftest import page
from tests.paths import FIXTURES, LOGS

pytestmark = pytest.mark.slow  # runs the Streamlit page (AppTest)

BUNDLES = FIXTURES / "bundles" / "shopco"
APIGEE_RATE = re.compile(r"\b\d+(?:\.\d+)?p[ms]\b")


@pytest.fixture
def app(page_env: Path) -> AppTest:
    return page("app_pages/throttling.py", timeout=180)


def _frames(app: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in app.dataframe]


def _texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [e.value for kind in (app.error, app.warning, app.info) for e in kind]
    return "\n".join(parts)


def test_the_sample_reads_in_words_with_rates_per_unit_and_no_none(app: AppTest) -> None:
    app.run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert int(metrics["Suggestions"]) > 10 and metrics["Abusive clients"] == "1"
    assert metrics["Capacity conflicts"] == "1"
    assert any("capacity, not throttling" in w.value for w in app.warning)
    assert any("dealfinder-app" in e.value for e in app.error)
    suggestions = _frames(app)[0]
    assert len(suggestions) == int(metrics["Suggestions"])
    measured = {c for formats in NUMBER_FORMATS.values() for c in formats}
    for frame in _frames(app):
        # A measured number may be missing (not measured: an empty cell); nothing else may.
        text = frame.drop(columns=[c for c in frame.columns if c in measured])
        assert not text.isna().any().any()
        cells = text.astype(str)
        assert not (cells == "None").any().any()
        assert not cells.apply(lambda c: c.str.contains(APIGEE_RATE)).any().any()
    spike = suggestions[suggestions["policy"] == "SpikeArrest"]["suggested"]
    assert spike.str.match(r"^\d[\d,.]*/(min|s)\b").all()
    text = _texts(app)
    assert "value unknown" not in text and "{'" not in text and '{"' not in text
    app.selectbox(key="throttling_proxy").set_value("catalog").run()
    app.selectbox(key="forecast_target").set_value("app: storefront-web").run()
    assert not app.exception


def test_the_proxy_filter_applies_to_every_number(app: AppTest) -> None:
    app.run()
    every = int({m.label: m.value for m in app.metric}["Suggestions"])
    app.multiselect(key="throttling_proxies").set_value(["orders"]).run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    suggestions = _frames(app)[0]
    assert 0 < int(metrics["Suggestions"]) == len(suggestions) < every
    assert suggestions["target"].str.startswith("orders").all()
    assert metrics["Abusive clients"] == "0" and not app.error  # dealfinder-app is on catalog
    excluded = next(f for f in _frames(app) if "until" in f.columns)
    assert set(excluded["proxy"]) == {"orders"}


def test_a_bundle_shows_current_limits_in_words_and_their_replay(app: AppTest) -> None:
    app.run()
    app.text_input(key="bundle_path").input(str(BUNDLES)).run()
    assert not app.exception
    table = _frames(app)[0]
    orders = table[(table["target"] == "orders") & (table["policy"] == "SpikeArrest")]
    assert orders["current"].iloc[0].startswith("SA-Global: 15/min")
    replays = next(f for f in _frames(app) if "not replayed" in f.columns)
    assert {"orders/SA-Global", "catalog/Q-PerApp"} <= set(replays["policy"])
    assert any("48,057 requests not replayed" in w.value for w in app.warning)


def test_bad_inputs_show_one_sentence_for_people(app: AppTest) -> None:
    app.run()
    app.text_input(key="bundle_path").input("/no/such/bundle").run()
    assert not app.exception and len(app.error) == 1
    assert "sidebar" in app.error[0].value and "BundleError" not in app.error[0].value
    app.text_input(key="bundle_path").input("").run()
    app.radio(key="source_kind").set_value("Path on disk").run()
    app.text_input(key="source_paths").input(str(LOGS / "not_a_log.bin")).run()
    assert not app.exception and len(app.error) == 1
    assert "Error" not in app.error[0].value and "--format" not in app.error[0].value


def test_no_source_says_what_to_do(app: AppTest) -> None:
    app.run()
    app.radio(key="source_kind").set_value("Upload").run()
    assert not app.exception and not app.metric
    assert app.info[0].value.startswith("Choose a log source")


def test_overview_and_throttling_share_one_advice_computation(
    page_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    advice_data.advice_cache.clear()
    data._analyses.clear()
    calls = {"advice": 0, "analysis": 0}
    real_suggest, real_analyze = advice_data.suggest_paths, data.analyze_paths

    def counted_suggest(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["advice"] += 1
        return real_suggest(*args, **kwargs)

    def counted_analyze(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["analysis"] += 1
        return real_analyze(*args, **kwargs)

    monkeypatch.setattr(advice_data, "suggest_paths", counted_suggest)
    monkeypatch.setattr(data, "analyze_paths", counted_analyze)
    overview = page("app_pages/overview.py", timeout=180)
    overview.run()
    throttling = page("app_pages/throttling.py", timeout=180)
    throttling.run()
    assert not overview.exception and not throttling.exception
    # One pass over the logs for both pages: the advice's pass also fed the traffic analysis.
    assert calls == {"advice": 1, "analysis": 0}


def test_cancel_during_replay_and_forecast_frees_the_page_keeps_nothing_and_can_start_again(
    app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    advice_data.advice_cache.clear()
    data._analyses.clear()
    page_run, page_left, replayed = {}, threading.Event(), []
    real_watch, real_build = advice_data.run_cancellable, run_module.build_report

    def watched(work, watch, **kwargs):  # noqa: ANN001, ANN003, ANN202 - the real one, its run noted
        page_run["ctx"] = get_script_run_ctx()
        return real_watch(work, watch, **kwargs)

    def build_while_the_user_stops(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        # The logs are read; replay and forecast start. The user stops the page now (what a
        # click on Cancel or Stop asks Streamlit), and the real replay goes on meanwhile.
        page_run["ctx"].script_requests.request_stop()
        page_left.wait(timeout=150)
        replayed.append(page_left.is_set())
        return real_build(*args, **kwargs)

    monkeypatch.setattr(advice_data, "run_cancellable", watched)
    monkeypatch.setattr(run_module, "build_report", build_while_the_user_stops)
    app.run()
    page_left.set()  # the page came back while the replay was still running
    assert not app.exception and not app.metric
    assert [box.state for box in app.status] == ["running"]  # never said it was done
    app.button(key="advice_cancel").click().run()
    assert not app.exception and not app.metric
    assert app.info[0].value.startswith("Cancelled: the advice for bundled sample")
    assert replayed == [True]  # the page left before the replay ended, not after
    assert len(advice_data.advice_cache()) == 0  # nothing of the cancelled work was kept

    monkeypatch.setattr(run_module, "build_report", real_build)
    app.button(key="advice_resume").click().run()
    assert not app.exception
    assert int({m.label: m.value for m in app.metric}["Suggestions"]) > 10
