"""The Drafts page: generate, review (steps, flow, code, scopes, findings, dry run), decide."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.drafting.specs import FLAGSHIP_REQUEST

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AppTest:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("ATC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ATC_LLM_BASE_URL", raising=False)
    return AppTest.from_file(str(ROOT / "app_pages" / "drafts.py"), default_timeout=120)


def _texts(app: AppTest) -> str:
    return "\n".join(t.value for t in app.text)


def test_an_empty_store_invites_a_first_draft(app: AppTest) -> None:
    app.run()
    assert not app.exception
    assert app.info[0].value == "No drafts yet: generate one above."
    assert app.button(key="drafts_generate").disabled


def test_an_out_of_scope_request_is_stored_rejected_with_its_finding(app: AppTest) -> None:
    app.run()
    app.text_area(key="drafts_request").input("Refund the payment").run()
    app.multiselect(key="drafts_scopes").set_value(["orders.read"]).run()
    app.button(key="drafts_generate").click().run()
    assert not app.exception
    assert app.error[0].value.startswith("Draft drf_") and "rejected" in app.error[0].value
    assert any(c.value == "offline planner, no LLM used" for c in app.caption)
    findings = app.dataframe[2].value  # steps, scopes, findings
    assert list(findings["rule_id"]) == ["WF003"]
    scopes = app.dataframe[1].value
    assert list(scopes["allowed by"]) == ["DENIED"]
    assert app.button(key="drafts_approve").disabled


@pytest.mark.slow
def test_generate_review_and_approve_the_flagship(app: AppTest) -> None:
    app.run()
    app.text_area(key="drafts_request").input(FLAGSHIP_REQUEST).run()
    app.button(key="drafts_generate").click().run()
    assert not app.exception
    assert "valid" in app.success[0].value
    steps = app.dataframe[0].value
    assert "manager_approval" in set(steps["step"]) and "approval" in set(steps["kind"])
    assert app.get("graphviz_chart"), "the flow diagram is drawn"
    assert any("class OrderApprovalCreateCancelNotifyWorkflow" in c.value for c in app.code)
    scopes = app.dataframe[1].value
    assert dict(zip(scopes["operation"], scopes["allowed by"], strict=True)) == {
        "fulfilment.create_shipment": "fulfilment.write",
        "orders.cancel": "orders.write",
        "notifications.send_email": "notifications.send",
    }
    assert "approve: check_amount -> manager_approval -> create_shipment (completed)" in _texts(app)
    app.text_input(key="drafts_comment").input("matches the policy").run()
    app.button(key="drafts_approve").click().run()
    assert not app.exception
    assert app.success[0].value == "Status: approved (version 1)"
    audit = app.dataframe[-1].value
    assert (
        list(audit["action"])[-1] == "approved"
        and list(audit["comment"])[-1] == "matches the policy"
    )


@pytest.mark.slow
def test_a_mined_suggestion_fills_the_request_and_edits_are_never_imported(app: AppTest) -> None:
    before = {m for m in sys.modules if m.startswith("atc_draft_")}  # other tests may load drafts
    app.run()
    app.radio(key="drafts_source").set_value("A pattern mined from the logs").run()
    assert not app.exception
    request = app.text_area(key="drafts_request").value
    assert request.startswith("Search the catalog every")
    assert app.multiselect(key="drafts_scopes").value == ["catalog.read", "notifications.send"]
    app.button(key="drafts_generate").click().run()
    assert "valid" in app.success[0].value
    code = next(c.value for c in app.code if "class " in c.value)
    editor = next(t for t in app.text_area if (t.key or "").startswith("drafts_edit_"))
    editor.input(code + "\nimport os\n").run()
    app.button(key="drafts_save_edit").click().run()
    assert not app.exception
    assert any(e.value == "Version 2: rejected" for e in app.error)
    assert {m for m in sys.modules if m.startswith("atc_draft_")} == before
