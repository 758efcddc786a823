"""The dashboard, served by `streamlit run app.py` as `make run` does, seen in a real browser.

Needs Debian's Chromium: see tests/app_pages/browser.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from copilot.config import Settings
from copilot.drafting.service import DraftJob, run_draft
from copilot.drafting.store import DraftStore
from copilot.scopes.keys import generate_keypair
from copilot.scopes.tokens import mint_token
from tests.app_pages.browser import CHROMIUM, FLAGS, require_chromium, serve_dashboard
from tests.drafting.specs import FLAGSHIP_REQUEST, FLAGSHIP_SCOPES

pytestmark = pytest.mark.slow
# The dashboard trusts a reviewer token in this header, as behind an identity-aware proxy.
REVIEWER_HEADER = "X-Atc-Reviewer"
REVIEWER = {"issuer": "test-idp", "audience": "atc-dashboard"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def reviewer_key(tmp_path_factory: pytest.TempPathFactory):
    return generate_keypair(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def dashboard(data_dir: Path, reviewer_key) -> Iterator[str]:
    require_chromium()
    env = dict(
        os.environ,
        ATC_DATA_DIR=str(data_dir),
        ATC_REVIEWER_HEADER=REVIEWER_HEADER,
        ATC_REVIEWER_JWKS=str(reviewer_key.jwks_path),
        ATC_REVIEWER_AUDIENCE=REVIEWER["audience"],
        ATC_REVIEWER_ISSUER=REVIEWER["issuer"],
    )
    with serve_dashboard(env) as url:
        yield url


def test_traffic_page_shows_the_sample_in_chromium(dashboard: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(dashboard + "traffic")  # Overview is the default page; charts are on Traffic
        page.wait_for_selector("[data-testid=stMetric]", timeout=90_000)
        page.wait_for_selector("[data-testid=stVegaLiteChart]", timeout=60_000)
        text = page.inner_text("body")
        page.screenshot(path=str(tmp_path / "traffic.png"), full_page=True)
        assert page.locator("[data-testid=stException]").count() == 0
        browser.close()
    assert "Traffic" in text and "Requests" in text and "Anomalies" in text
    assert re.search(r"Requests\s+[\d,]{6,}", text), "the requests metric shows the sample's count"


def test_drafts_page_shows_code_read_only_and_records_a_verified_approval(
    dashboard: str, data_dir: Path, reviewer_key, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    doc = run_draft(
        DraftJob(FLAGSHIP_REQUEST, FLAGSHIP_SCOPES, actor="author", planner="offline"),
        settings=Settings(data_dir=data_dir),
    )
    assert doc["valid"], doc
    token = mint_token(
        reviewer_key.ref, subject="alice@example.com", scopes="review", ttl_s=600, **REVIEWER
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(
            viewport={"width": 1400, "height": 1600},
            extra_http_headers={REVIEWER_HEADER: f"Bearer {token}"},
        )
        page.goto(dashboard + "drafts")
        page.get_by_text("Signed in as alice@example.com (verified)").wait_for(timeout=90_000)
        page.get_by_role("tab", name="Code").click()
        code = page.locator("[data-testid=stCode]", has_text="@workflow.defn")
        code.first.wait_for(timeout=30_000)
        texts = page.eval_on_selector_all(
            "textarea, input, [contenteditable=true]", "els => els.map(e => e.value ?? e.innerText)"
        )
        assert not [t for t in texts if "@workflow.defn" in t], "no editable area holds code"
        assert code.first.locator("textarea, [contenteditable=true]").count() == 0
        page.get_by_role("button", name="Approve").click()
        page.get_by_role("button", name="Confirm approval").click()  # approving asks first
        page.get_by_text("Approved version 1 (verified reviewer).").wait_for(timeout=60_000)
        decided = page.get_by_text("Approved version 1 (spec sha256 ")
        assert decided.inner_text().endswith("by alice@example.com (verified)")
        page.screenshot(path=str(tmp_path / "drafts.png"), full_page=True)
        assert page.locator("[data-testid=stException]").count() == 0
        assert page.get_by_role("button", name="Approve").is_disabled()
        assert page.get_by_role("button", name="Reject").is_disabled()
        browser.close()
    draft = DraftStore.in_data_dir(data_dir).get(doc["draft_id"])
    assert (draft["status"], draft["approved_version"]) == ("approved", 1)
    last = draft["audit"][-1]
    assert (last["action"], last["actor"], last["verified"]) == (
        "approved",
        "alice@example.com",
        True,
    )
