"""The review flow in a real browser: approve after a confirmation, no one-click reversal,
then an explicit change of decision with its own comment; the store says what happened.

Uses the dashboard fixture and Chromium flags of ``test_browser`` (`streamlit run app.py`
on loopback, a verified reviewer token in the configured header).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from copilot.config import Settings
from copilot.drafting.service import DraftJob, run_draft
from copilot.drafting.store import DraftStore
from copilot.scopes.tokens import mint_token
from tests.app_pages.browser import CHROMIUM, FLAGS
from tests.app_pages.test_browser import (  # noqa: F401 - fixtures are used by name
    REVIEWER,
    REVIEWER_HEADER,
    dashboard,
    data_dir,
    reviewer_key,
)
from tests.drafting.specs import FLAGSHIP_REQUEST, FLAGSHIP_SCOPES

pytestmark = pytest.mark.slow
WAIT_MS = 60_000


def test_approve_then_change_the_decision_only_explicitly(
    dashboard: str,  # noqa: F811
    data_dir: Path,  # noqa: F811
    reviewer_key,  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    doc = run_draft(
        DraftJob(FLAGSHIP_REQUEST, FLAGSHIP_SCOPES, actor="author", planner="offline"),
        settings=Settings(data_dir=data_dir),
    )
    assert doc["valid"], doc
    draft_id = doc["draft_id"]
    spec_hash = DraftStore.in_data_dir(data_dir).version(draft_id, 1)["spec_hash"]
    token = mint_token(
        reviewer_key.ref, subject="alice@example.com", scopes="review", ttl_s=600, **REVIEWER
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(
            viewport={"width": 1400, "height": 2000},
            extra_http_headers={REVIEWER_HEADER: f"Bearer {token}"},
        )
        page.goto(dashboard + "drafts")
        page.get_by_text("Signed in as alice@example.com (verified)").wait_for(timeout=90_000)
        page.get_by_text("Version 1: awaiting review").wait_for(timeout=WAIT_MS)

        # Approve asks first, and says exactly what it approves.
        page.get_by_label("Comment", exact=True).fill("within policy")
        page.get_by_role("button", name="Approve").click()
        summary = page.get_by_text(f"Approve draft {draft_id} version 1 (spec sha256 {spec_hash})")
        summary.wait_for(timeout=WAIT_MS)
        assert "fulfilment.create_shipment" in summary.inner_text()
        assert DraftStore.in_data_dir(data_dir).get(draft_id)["status"] == "draft"
        page.get_by_role("button", name="Confirm approval").click()
        page.get_by_text("Approved version 1 (verified reviewer).").wait_for(timeout=WAIT_MS)
        page.screenshot(path=str(tmp_path / "review-approved.png"), full_page=True)

        # No one-click reversal: Reject is disabled and the comment box is empty.
        expect(page.get_by_role("button", name="Reject", exact=True)).to_be_disabled()
        expect(page.get_by_label("Comment", exact=True)).to_have_value("")
        assert page.get_by_text("Status: approved (version 1)").count() == 1
        # The selectors show the new status too (a select box keyed only by name kept its old
        # labels in the browser: "awaiting review" after the approval).
        expect(page.get_by_label("Draft", exact=True)).to_have_value(
            re.compile(rf"^{draft_id} · approved · ")
        )
        expect(page.get_by_label("Version", exact=True)).to_have_value("1 · approved")
        assert "awaiting review" not in page.inner_text("body")

        # Change decision, with its own comment.
        page.get_by_role("button", name="Change decision").click()
        page.get_by_label("Why change it? (required)").fill("the amount limit was lowered")
        page.get_by_role("button", name="Reject version 1 instead").click()
        page.get_by_text("Rejected version 1 (verified reviewer) (decision changed).").wait_for(
            timeout=WAIT_MS
        )
        page.screenshot(path=str(tmp_path / "review-changed.png"), full_page=True)
        assert page.locator("[data-testid=stException]").count() == 0
        browser.close()
    draft = DraftStore.in_data_dir(data_dir).get(draft_id)
    assert (draft["status"], draft["approved_version"]) == ("rejected", None)
    decisions = [
        (a["action"], a["actor"], a["comment"], a["verified"], a["spec_hash"])
        for a in draft["audit"]
        if a["actor"] != "atc" and a["action"] != "created"
    ]
    assert decisions == [
        ("approved", "alice@example.com", "within policy", True, spec_hash),
        (
            "changed to rejected",
            "alice@example.com",
            "the amount limit was lowered",
            True,
            spec_hash,
        ),
    ]
