"""Every page of the dashboard in real Chromium, on the sample and on an uploaded file.

A Temporal dev server, the runs worker and the gateway emulator run for real
(the runs tests' estate); an approved draft runs to completion from the Runs
page; a delivered report opens on the Reports page. Each page is checked for
exception text and raw JSON elements, and saved as a screenshot under
``tests/artifacts/screenshots/`` (``ATC_SCREENSHOT_DIR`` overrides it;
``scripts/screenshots.py`` points it at ``docs/screenshots/``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from copilot.dashboard.runs import WATCH_EVERY_S
from tests.app_pages.browser import CHROMIUM, FLAGS, require_chromium, serve_dashboard
from tests.drafting.specs import FLAGSHIP_SCOPES, flagship
from tests.paths import LOGS, ROOT
from tests.runs.estate import Estate
from tests.workflows.devserver import DevServer, dev_server

pytestmark = pytest.mark.slow
SHOTS = Path(os.environ.get("ATC_SCREENSHOT_DIR") or ROOT / "tests" / "artifacts" / "screenshots")
PAGES = ["Overview", "Traffic", "Throttling", "Scopes", "Drafts", "Runs", "Reports", "Status"]
UPLOAD = LOGS / "analytics_export.csv"
# Text that only shows when something leaked: exception names, tracebacks, internal paths.
LEAKS = ["Traceback", "Error: ", "Exception", "/tmp/", str(ROOT), "--format"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    with dev_server(tmp_path_factory.mktemp("temporal")) as running:
        yield running


@pytest.fixture(scope="module")
def estate(server: DevServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    made = Estate(server, tmp_path_factory.mktemp("estate"))
    try:
        made.approve(made.draft(flagship(), FLAGSHIP_SCOPES))
        made.worker()
        _deliver_report(made.data)
        yield made
    finally:
        made.stop()


def _deliver_report(data_dir: Path) -> None:
    # The layout `atc reports` writes: <data_dir>/reports/<NAME>/<timestamp>/report.html
    folder = data_dir / "reports" / "weekly" / "20261130T060000.000Z"
    folder.mkdir(parents=True)
    (folder / "report.html").write_text(
        "<html><body><h1>Weekly traffic: week 48</h1></body></html>"
    )


@pytest.fixture(scope="module")
def dashboard(estate: Estate) -> Iterator[str]:
    require_chromium()
    with serve_dashboard(estate.env(), estate.tmp / "dashboard.log") as url:
        yield url


def _settled(page) -> None:  # noqa: ANN001 - a Playwright page
    """Wait until the app has finished its run (Streamlit's status widget says Running…)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stStatusWidget]')"
        " || !document.querySelector('[data-testid=stStatusWidget]').innerText.includes('Running')",
        timeout=180_000,
    )


# Text each page shows once its run is done (the last section it draws).
DONE = {
    "Overview": "Open the page named in each row",
    "Traffic": "Endpoints",
    "Throttling": "Policy XML",
    "Scopes": "Check a request",
    "Drafts": "Drafts",
    "Runs": "Runs",
    "Reports": "Schedules",
    "Status": "Schedules and their next run",
}


def _open(page, title: str) -> str:  # noqa: ANN001
    """Click a page in the navigation (the session, and its sidebar choices, stay) and check it."""
    page.locator("[data-testid=stSidebarNav] a", has_text=title).first.click()
    page.locator("h1", has_text=title).first.wait_for(timeout=180_000)
    page.locator("[data-testid=stMain]").get_by_text(DONE[title]).first.wait_for(timeout=180_000)
    _settled(page)
    text = page.inner_text("[data-testid=stMain]")
    assert page.locator("[data-testid=stException]").count() == 0, (title, text[:2000])
    assert page.locator("[data-testid=stJson]").count() == 0, f"{title} shows raw JSON"
    for leak in LEAKS:
        assert leak not in text, (title, leak)
    return text


def _shot(page, name: str) -> None:  # noqa: ANN001
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def review_walk(page) -> None:  # noqa: ANN001
    """HOOK for the review flow (H9): approve, then "change decision" before a reject.

    Called on the Drafts page during the walk; the review flow's own browser
    test lives in tests/app_pages/test_browser_review.py.
    """


def test_every_page_on_the_sample_then_on_an_upload(dashboard: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(dashboard)
        page.locator("h1", has_text="Overview").wait_for(timeout=180_000)
        for title in PAGES:
            text = _open(page, title)
            if title == "Drafts":
                review_walk(page)
            _shot(page, title.lower())
            assert "Analysing: bundled sample" in page.inner_text("[data-testid=stSidebar]")
            if title == "Traffic":
                assert "Requests" in text and "All times are UTC" in text

        page.get_by_text("Upload", exact=True).click()
        page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(UPLOAD))
        page.get_by_text("Analysing: analytics_export.csv").wait_for(timeout=60_000)
        for title in ("Traffic", "Throttling", "Overview"):
            text = _open(page, title)
            assert "Analysing: analytics_export.csv" in page.inner_text("[data-testid=stSidebar]")
            _shot(page, f"upload-{title.lower()}")
        assert "7 records" in text
        browser.close()


def test_an_approved_draft_runs_to_completion_and_a_report_opens(dashboard: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        sent: list[object] = []  # every message the browser sends (a refresh is one)
        page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(frame)))
        page.goto(dashboard)
        page.locator("h1", has_text="Overview").wait_for(timeout=180_000)
        body = _open(page, "Runs")
        assert "Start a run" in body, body[:3000]
        page.get_by_role("button", name="Start run").click()
        page.get_by_text("Started run run-").wait_for(timeout=60_000)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            body = page.inner_text("[data-testid=stMain]")
            if "COMPLETED" in body:
                break
            if "waits for a decision" in body:
                _click_if_still_there(page, "Approve")
            page.wait_for_timeout(1000)
        body = page.inner_text("[data-testid=stMain]")
        assert "COMPLETED" in body, body[-3000:]
        assert page.locator("[data-testid=stException]").count() == 0
        page.get_by_text("the panel no longer refreshes").wait_for(timeout=30_000)
        _settled(page)
        quiet_from = len(sent)
        page.wait_for_timeout(3_000 * WATCH_EVERY_S)  # three refresh periods
        assert len(sent) == quiet_from, "the watch panel still refreshes a run that has ended"
        _shot(page, "runs-completed")

        _open(page, "Reports")
        frame = page.frame_locator("iframe").first
        frame.get_by_text("Weekly traffic: week 48").wait_for(timeout=30_000)
        _shot(page, "reports-open")
        browser.close()


def _click_if_still_there(page, name: str) -> None:
    """Click a button that a rerun of the page may replace at any moment (the Runs panel
    refreshes while a run waits): a button gone before the click is looked for again on
    the caller's next round, not a failure."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.get_by_role("button", name=name).click(timeout=5_000)
    except PlaywrightTimeout:
        return
