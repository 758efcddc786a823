"""Rendering: self-contained HTML, escaping of hostile log names in every format, narratives."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator

import pytest

from copilot.config import Settings
from copilot.reports import content, csvs, html, markdown, narrative
from copilot.reports.documents import report_documents
from copilot.reports.escape import csv_cell, md_text
from copilot.scopes.server import BackgroundServer
from copilot.throttling.run import suggest_paths
from tests.drafting.fake_llm import FakeLLM, answer
from tests.reports.logs import HOSTILE_APP, HOSTILE_PROXY, hostile_export

KEY_ENV = "ATC_FAKE_LLM_KEY"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> content.Report:
    path = hostile_export(tmp_path_factory.mktemp("logs") / "hostile.csv")
    docs = report_documents(suggest_paths([path]))
    previous = content.summarize({"proxies": [], "consumers": [], "endpoints": []})
    built = content.build("weekly", docs["analysis"], docs["suggest"], docs["series"], previous,
                          [{"id": "d1", "request": HOSTILE_PROXY, "latest": 1}], None)  # fmt: skip
    built.narrative = narrative.offline(built)
    return built


def test_the_hostile_names_are_in_the_report(report: content.Report) -> None:
    # Without this the escaping tests below could pass on a report without the attack in it.
    assert HOSTILE_PROXY in [r[0] for r in report.table("proxies").rows]
    assert any(HOSTILE_APP in consumer for consumer in report.summary["consumers"])


def test_html_is_self_contained_and_escapes_a_hostile_proxy_name(report: content.Report) -> None:
    page = html.render(report)
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert html.esc(HOSTILE_PROXY) in page
    assert not re.search(r"""(?i)\b(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    assert "<svg" in page and "<style>" in page and "<link" not in page
    assert "no run history" in page


def test_markdown_escapes_markup_in_log_names(report: content.Report) -> None:
    text = markdown.render(report)
    assert HOSTILE_PROXY not in text
    assert md_text(HOSTILE_PROXY) in text
    assert "\\<script\\>" in text and "\\|\\*x\\*" in text
    assert "no run history" in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "\\=1+2"),
        ("- item", "\\- item"),
        ("12. item", "12\\. item"),
        ("[x](javascript:alert(1))", "\\[x\\]\\(javascript:alert\\(1\\)\\)"),
        ("see https://evil.example", "see https\\://evil.example"),
        ("a|b\nc", "a\\|b c"),
        ("plain-name.v2", "plain-name.v2"),
    ],
)
def test_md_text_escapes_markdown_active_text(value: str, expected: str) -> None:
    assert md_text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=SUM(A1)", "'=SUM(A1)"), ("+1", "'+1"), ("-1", "'-1"), ("@cmd", "'@cmd"),
     ("\tx", "'\tx"), ("safe", "safe"), (-3, -3), (None, "")],
)  # fmt: skip
def test_csv_cells_that_start_a_formula_get_a_quote(value: object, expected: object) -> None:
    assert csv_cell(value) == expected


def test_csv_tables_guard_against_formula_injection(report: content.Report) -> None:
    files = csvs.render(report)
    assert {"proxies.csv", "anomalies.csv", "suggestions.csv", "needs_throttling.csv"} <= set(files)
    cells = [c for text in files.values() for row in csv.reader(io.StringIO(text)) for c in row]
    assert "'" + HOSTILE_APP in " ".join(cells)
    assert not any(c.startswith(("=", "+", "@")) for c in cells)


def test_the_offline_narrative_is_deterministic_and_labelled(report: content.Report) -> None:
    first, second = narrative.offline(report), narrative.offline(report)
    assert first == second and first["label"] == narrative.OFFLINE_LABEL
    assert f"{report.period['records']:,}" in first["text"]
    assert "Summary computed offline" in html.render(report)


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeLLM, str]]:
    server = FakeLLM()
    with BackgroundServer(server.app) as running:
        yield server, running.url


def test_the_llm_narrative_gets_only_numbers(
    report: content.Report, fake: tuple[FakeLLM, str]
) -> None:
    server, url = fake
    server.reset(answer("Traffic was steady."))
    settings = Settings(llm_base_url=url + "/v1", llm_model="fake-model", llm_api_key_env=KEY_ENV)
    told = narrative.narrate(report, settings)
    assert told == {"label": narrative.LLM_LABEL.format(model="fake-model"),
                    "text": "Traffic was steady."}  # fmt: skip
    (request,) = server.requests
    prompt = json.dumps(request["body"]["messages"])
    names = [r[0] for r in report.table("proxies").rows]
    assert not any(name in prompt for name in names) and "evil" not in prompt
    data = json.loads(request["body"]["messages"][1]["content"].removeprefix("<data>")
                      .removesuffix("</data>"))  # fmt: skip
    assert _leaves_are_numbers_or_ranks(data)


def _leaves_are_numbers_or_ranks(value: object) -> bool:
    if isinstance(value, dict):
        return all(_leaves_are_numbers_or_ranks(v) for v in value.values())
    if isinstance(value, list):
        return all(_leaves_are_numbers_or_ranks(v) for v in value)
    if isinstance(value, str):
        return re.fullmatch(r"proxy \d+", value) is not None
    return value is None or isinstance(value, (int, float))


def test_an_unreachable_llm_falls_back_to_the_labelled_offline_summary(
    report: content.Report, fake: tuple[FakeLLM, str]
) -> None:
    server, url = fake
    server.reset()  # the fake answers 500 when its script is empty
    settings = Settings(llm_base_url=url + "/v1", llm_api_key_env=KEY_ENV, llm_timeout_s=5.0)
    told = narrative.narrate(report, settings)
    assert told["text"] == narrative.offline(report)["text"]
    assert told["label"].startswith(narrative.OFFLINE_LABEL) and "failed" in told["label"]
