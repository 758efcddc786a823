"""The Drafts page: generate, review (steps, flow, read-only code, scopes, findings, dry run),
edit the spec, decide on the version shown."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from copilot.config import Settings
from copilot.drafting import review
from copilot.drafting.review import Reviewer
from copilot.drafting.service import DraftJob, edit_spec, run_draft
from copilot.drafting.store import STORE_FILE, DraftStore, NewVersion
from tests.drafting.specs import FLAGSHIP_REQUEST, FLAGSHIP_SCOPES
from tests.paths import ROOT

pytestmark = pytest.mark.slow  # runs the Streamlit page (AppTest)


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("ATC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ATC_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("ATC_REVIEWER_HEADER", raising=False)
    return tmp_path / "data"


@pytest.fixture
def app(data_dir: Path) -> AppTest:
    return AppTest.from_file(str(ROOT / "app_pages" / "drafts.py"), default_timeout=120)


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One valid flagship draft (drafted and dry-run once), and a valid second version for it."""
    first = tmp_path_factory.mktemp("seed")
    doc = run_draft(
        DraftJob(FLAGSHIP_REQUEST, FLAGSHIP_SCOPES, actor="author", planner="offline"),
        settings=Settings(data_dir=first),
    )
    assert doc["valid"], doc
    draft_id = doc["draft_id"]
    second = tmp_path_factory.mktemp("second")
    shutil.copy(first / STORE_FILE, second / STORE_FILE)
    store = DraftStore.in_data_dir(second)
    spec = json.loads(store.version(draft_id, 1)["spec_json"])
    spec["description"] = "edited by someone else"
    assert edit_spec(store, draft_id, spec, "someone else").valid
    v2 = store.version(draft_id, 2)
    fields = NewVersion.__dataclass_fields__
    return {
        "store": first / STORE_FILE,
        "draft_id": draft_id,
        "v2": NewVersion(**{k: v for k, v in v2.items() if k in fields}),
    }


@pytest.fixture
def seeded(seed: dict[str, Any], data_dir: Path) -> str:
    """A fresh copy of the seeded store for this test; returns the draft id."""
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(seed["store"], data_dir / STORE_FILE)
    return seed["draft_id"]


def _texts(app: AppTest) -> str:
    return "\n".join(t.value for t in app.text)


def _editor(app: AppTest, key: str) -> Any:
    return next(d for d in app.data_editor if d.key == key).value


def _table(app: AppTest, column: str) -> Any:
    """The first read-only table with this column (they have no keys)."""
    frames = (d.value for d in app.dataframe if d.editing_mode == "read_only")
    return next(f for f in frames if column in f.columns)


def _select(app: AppTest, state: str) -> Any:
    """The select box whose choice is kept under ``state`` (its key adds a label digest)."""
    return next(s for s in app.selectbox if (s.key or "").startswith(state + "__"))


def _captions(app: AppTest) -> str:
    return "\n".join(c.value for c in app.caption)


def _shown(markdown: str) -> str:
    """What an alert displays: its markdown with the escapes resolved."""
    return re.sub(r"\\(.)", r"\1", markdown)


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
    assert list(_table(app, "rule_id")["rule_id"]) == ["WF003"]
    assert list(_table(app, "allowed by")["allowed by"]) == ["DENIED"]
    assert app.button(key="drafts_approve").disabled
    assert app.button(key="drafts_reject").disabled, "a failed version is already rejected"
    assert "No version passed validation" in _captions(app)


def test_the_code_is_shown_read_only_and_nothing_edits_code(app: AppTest, seeded: str) -> None:
    app.run()
    assert not app.exception
    code = next(c.value for c in app.code if "class " in c.value)
    assert "@workflow.defn" in code
    assert "own repository" in _captions(app)
    for area in app.text_area:
        assert "@workflow.defn" not in (area.value or ""), f"{area.key} holds code"
        assert not (area.key or "").startswith("drafts_edit_")
    assert [a.key for a in app.text_area if a.key != "drafts_request"] == [
        f"drafts_json_{seeded}_1"
    ]
    json.loads(app.text_area(key=f"drafts_json_{seeded}_1").value)  # the spec, as data
    editors = {d.key for d in app.data_editor}
    assert editors == {f"drafts_steps_{seeded}_1", f"drafts_inputs_{seeded}_1"}


def test_the_operation_column_offers_only_what_the_scopes_allow(app: AppTest, seeded: str) -> None:
    app.run()
    steps = _editor(app, f"drafts_steps_{seeded}_1")
    assert set(steps["operation"].dropna()) <= {
        "fulfilment.create_shipment",
        "orders.cancel",
        "notifications.send_email",
        "orders.get",
    }
    from app_pages import _drafts_data as data
    from copilot.scopes import load_catalog

    allowed = data.allowed_operations(load_catalog(), list(FLAGSHIP_SCOPES))
    assert "orders.cancel" in allowed and "payments.refund" not in allowed


def _edit_cells(app: AppTest, key: str, step_id: str, **cells: Any) -> None:
    steps = _editor(app, key)
    row = list(steps["id"]).index(step_id)
    app.session_state[key] = {"edited_rows": {row: cells}, "added_rows": [], "deleted_rows": []}


def test_a_spec_edit_through_the_table_makes_a_new_version(
    app: AppTest, seeded: str, data_dir: Path
) -> None:
    app.run()
    _edit_cells(app, f"drafts_steps_{seeded}_1", "manager_approval", timeout_s=3600)
    app.run()
    app.button(key="drafts_save_spec").click().run()
    assert not app.exception
    assert _shown(app.success[0].value) == "Version 2: valid"
    picker = _select(app, f"drafts_version_{seeded}")
    assert picker.value == 2, "the new version is shown"
    assert picker.options == ["1 · superseded", "2 · awaiting review"], "listed at once"
    store = DraftStore.in_data_dir(data_dir)
    v2 = store.version(seeded, 2)
    approval = next(
        s for s in json.loads(v2["spec_json"])["steps"] if s["id"] == "manager_approval"
    )
    assert approval["timeout_s"] == 3600
    assert v2["code"] != store.version(seeded, 1)["code"], "the renderer wrote the code again"
    assert v2["source"] == "edit" and v2["author"] == "reviewer"


def test_rows_that_cannot_be_a_spec_are_refused_before_anything_is_stored(
    app: AppTest, seeded: str, data_dir: Path
) -> None:
    app.run()
    _edit_cells(app, f"drafts_steps_{seeded}_1", "manager_approval", id="")
    app.run()
    app.button(key="drafts_save_spec").click().run()
    assert not app.exception
    assert any("has no id" in e.value for e in app.error)
    assert len(DraftStore.in_data_dir(data_dir).get(seeded)["versions"]) == 1


def _approve(app: AppTest, comment: str = "") -> None:
    """Approve…, then Confirm approval (what a reviewer clicks)."""
    if comment:
        app.text_input(key="drafts_comment").input(comment)
    app.button(key="drafts_approve").click().run()
    app.button(key="drafts_confirm_approve").click().run()


def _buttons(app: AppTest) -> set[str]:
    return {b.key for b in app.button if b.key}


def test_approve_first_states_exactly_what_it_approves(
    app: AppTest, seeded: str, data_dir: Path
) -> None:
    app.run()
    shown = DraftStore.in_data_dir(data_dir).version(seeded, 1)
    app.text_input(key="drafts_comment").input("matches the policy")
    app.button(key="drafts_approve").click().run()
    assert not app.exception
    assert DraftStore.in_data_dir(data_dir).get(seeded)["status"] == "draft", "not yet"
    summary = _shown(app.warning[-1].value)
    assert f"Approve draft {seeded} version 1 (spec sha256 {shown['spec_hash']})" in summary
    for op in ("fulfilment.create_shipment", "orders.cancel", "notifications.send_email"):
        assert op in summary
    assert "with the scopes " + ", ".join(FLAGSHIP_SCOPES) in summary
    assert "Your comment: matches the policy" in _texts(app)
    app.button(key="drafts_confirm_cancel").click().run()
    assert "drafts_confirm_approve" not in _buttons(app)
    assert DraftStore.in_data_dir(data_dir).get(seeded)["status"] == "draft", "cancelled"


def test_approve_names_the_shown_version_and_its_hash_and_clears_the_form(
    app: AppTest, seeded: str, data_dir: Path
) -> None:
    app.run()
    shown = DraftStore.in_data_dir(data_dir).version(seeded, 1)
    _approve(app, "matches the policy")
    assert not app.exception
    draft = DraftStore.in_data_dir(data_dir).get(seeded)
    assert (draft["status"], draft["approved_version"]) == ("approved", 1)
    last = draft["audit"][-1]
    assert (last["action"], last["actor"], last["comment"]) == (
        "approved",
        "reviewer",
        "matches the policy",
    )
    assert last["spec_hash"] == shown["spec_hash"] and last["verified"] is False
    assert _shown(app.success[0].value) == "Approved version 1 (unverified reviewer)."
    line = f"Approved version 1 (spec sha256 {shown['spec_hash'][:12]}…) by reviewer (unverified)"
    assert line in _texts(app)
    assert app.button(key="drafts_reject").disabled and app.button(key="drafts_approve").disabled
    assert app.text_input(key="drafts_comment").value == "", "the comment box is emptied"
    # "draft" is not shown anywhere once approved: the draft, the version and the status say so.
    assert "Status: approved (version 1)" in [s.value for s in app.success]
    pick = _select(app, "drafts_pick")
    assert pick.format_func(pick.value).split(" · ")[1] == "approved"
    picker = _select(app, f"drafts_version_{seeded}")
    assert picker.format_func(1) == "1 · approved" and "Version 1: approved" in _texts(app)


def test_the_opposite_action_needs_change_decision_with_its_own_comment(
    app: AppTest, seeded: str, data_dir: Path
) -> None:
    app.run()
    _approve(app, "matches the policy")
    assert app.button(key="drafts_reject").disabled, "no one-click reversal"
    assert "use Change decision" in _captions(app)
    app.button(key="drafts_change").click().run()
    assert app.text_input(key="drafts_change_comment").value == "", "its own comment, empty"
    app.button(key="drafts_change_submit").click().run()  # no comment: refused
    assert not app.exception
    assert "needs its own comment" in _shown(app.error[0].value)
    store = DraftStore.in_data_dir(data_dir)
    assert store.get(seeded)["status"] == "approved"
    app.text_input(key="drafts_change_comment").input("the amount limit changed")
    app.button(key="drafts_change_submit").click().run()
    assert not app.exception
    draft = store.get(seeded)
    assert (draft["status"], draft["approved_version"]) == ("rejected", None)
    assert [(a["action"], a["comment"]) for a in draft["audit"][-2:]] == [
        ("approved", "matches the policy"),
        ("changed to rejected", "the amount limit changed"),
    ]
    assert (
        _shown(app.success[0].value)
        == "Rejected version 1 (unverified reviewer) (decision changed)."
    )
    assert "changing an earlier decision" in _texts(app)
    assert "drafts_change_submit" not in _buttons(app), "the change form is closed"
    assert app.text_input(key="drafts_comment").value == ""


def test_a_stale_page_is_refused_with_the_reason_and_reloads(
    app: AppTest, seeded: str, seed: dict[str, Any], data_dir: Path
) -> None:
    app.run()
    store = DraftStore.in_data_dir(data_dir)
    app.text_input(key="drafts_comment").input("looks fine")
    app.button(key="drafts_approve").click().run()
    store.add_version(seeded, seed["v2"], "someone else", "edit")  # while confirming
    app.button(key="drafts_confirm_approve").click().run()
    assert not app.exception
    assert re.fullmatch(
        r"Not recorded\. PolicyDenied: .*version 1 \(spec \w{12}\) is not the current version 2 .*reload.*",
        _shown(app.error[0].value),
    )
    assert store.get(seeded)["status"] == "draft", "nothing was decided"
    assert _select(app, f"drafts_version_{seeded}").value == 2, "reloaded on the latest"
    assert not app.button(key="drafts_approve").disabled
    assert app.text_input(key="drafts_comment").value == "looks fine", "the comment is kept"


def test_a_decision_made_elsewhere_meanwhile_is_refused_and_shown_as_plain_text(
    app: AppTest, seeded: str, data_dir: Path
) -> None:
    app.run()
    store = DraftStore.in_data_dir(data_dir)
    v1 = store.version(seeded, 1)
    other = Reviewer("![x](http://example.invalid/x.png)")
    review.decide(seeded, "approve", version=1, spec_hash=v1["spec_hash"], reviewer=other)
    app.button(key="drafts_reject").click().run()
    assert not app.exception
    error = app.error[0].value
    assert "already approved by ![x](http://example.invalid/x.png)" in _shown(error)
    assert "](" not in error, "the name is not a markdown image"
    assert store.get(seeded)["status"] == "approved"
    assert app.button(key="drafts_reject").disabled


def test_an_older_version_can_be_read_but_not_decided_or_edited(
    app: AppTest, seeded: str, seed: dict[str, Any], data_dir: Path
) -> None:
    DraftStore.in_data_dir(data_dir).add_version(seeded, seed["v2"], "someone else", "edit")
    app.run()
    picker = _select(app, f"drafts_version_{seeded}")
    assert picker.options == ["1 · superseded", "2 · awaiting review"]
    picker.set_value(1).run()
    assert not app.exception
    assert app.button(key="drafts_approve").disabled and app.button(key="drafts_reject").disabled
    assert "decisions are for version 2, the version under review" in _captions(app)
    assert not app.data_editor, "edits start from the latest version"


def test_the_review_shows_each_clause_beside_its_step(app: AppTest, seeded: str) -> None:
    app.run()
    clauses = _table(app, "clause")
    pairs = dict(zip(clauses["clause"], clauses["step"], strict=True))
    assert pairs["when an order over 10,000 is created"] == "check_amount"
    assert pairs["hold it for a manager's approval for up to 48 hours"] == "manager_approval"
    assert pairs["on rejection"] == "manager_approval" and pairs["cancel it"] == "cancel_order"
    assert "no step" not in set(clauses["step"])


def test_an_edit_that_drops_a_clause_fails_wf011_and_shows_no_step(
    app: AppTest, seeded: str, data_dir: Path
) -> None:
    app.run()
    editor = app.text_area(key=f"drafts_json_{seeded}_1")
    spec = json.loads(editor.value)
    spec["steps"] = [s for s in spec["steps"] if s["id"] != "check_amount"]  # the threshold
    editor.input(json.dumps(spec)).run()
    app.button(key="drafts_save_json").click().run()
    assert not app.exception
    assert _shown(app.error[0].value) == "Version 2: rejected"
    assert "WF011" in set(_table(app, "rule_id")["rule_id"])
    clauses = _table(app, "clause")
    row = list(clauses["clause"]).index("when an order over 10,000 is created")
    assert clauses["step"][row] == "no step"


def test_generating_shows_the_draft_just_produced(app: AppTest, seeded: str) -> None:
    app.run()
    assert _select(app, "drafts_pick").value == seeded
    made = []
    for text in ("Refund the payment", "Refund the payment twice"):
        app.text_area(key="drafts_request").input(text).run()
        app.multiselect(key="drafts_scopes").set_value(["orders.read"]).run()
        app.button(key="drafts_generate").click().run()
        assert not app.exception
        made.append(re.search(r"drf_\w+", app.error[0].value).group(0))
        assert _select(app, "drafts_pick").value == made[-1], "no lag by one step"
        assert f"Request: {text}" in _texts(app)
        assert "Version 1: failed validation" in _texts(app)
    assert made[0] != made[1]


@pytest.mark.slow
def test_generate_review_and_approve_the_flagship(app: AppTest) -> None:
    app.run()
    app.text_area(key="drafts_request").input(FLAGSHIP_REQUEST).run()
    app.button(key="drafts_generate").click().run()
    assert not app.exception
    assert "valid" in app.success[0].value
    steps = _table(app, "goes to")
    assert "manager_approval" in set(steps["step"]) and "approval" in set(steps["kind"])
    assert app.get("graphviz_chart"), "the flow diagram is drawn"
    assert any("class OrderApprovalCreateCancelNotifyWorkflow" in c.value for c in app.code)
    scopes = _table(app, "allowed by")
    assert dict(zip(scopes["operation"], scopes["allowed by"], strict=True)) == {
        "fulfilment.create_shipment": "fulfilment.write",
        "orders.cancel": "orders.write",
        "notifications.send_email": "notifications.send",
    }
    assert "approve: check_amount -> manager_approval -> create_shipment (completed)" in _texts(app)
    _approve(app, "matches the policy")
    assert not app.exception
    assert "Status: approved (version 1)" in [s.value for s in app.success]
    clauses = _table(app, "clause")
    assert "no step" not in set(clauses["step"])
    audit = _table(app, "actor")
    assert (
        list(audit["action"])[-1] == "approved"
        and list(audit["comment"])[-1] == "matches the policy"
    )


@pytest.mark.slow
def test_a_mined_suggestion_fills_the_request_and_drafts_valid(app: AppTest) -> None:
    app.run()
    app.radio(key="drafts_source").set_value("A pattern mined from the logs").run()
    assert not app.exception
    request = app.text_area(key="drafts_request").value
    assert request.startswith("Search the catalog every")
    assert app.multiselect(key="drafts_scopes").value == ["catalog.read", "notifications.send"]
    app.button(key="drafts_generate").click().run()
    assert not app.exception
    assert "valid" in app.success[0].value, [e.value for e in app.error]


def test_a_json_edit_out_of_scope_is_stored_rejected_and_nothing_drafted_is_imported(
    app: AppTest, seeded: str, data_dir: Path
) -> None:
    before = {m for m in sys.modules if m.startswith("atc_draft_")}  # other tests may load drafts
    app.run()
    editor = app.text_area(key=f"drafts_json_{seeded}_1")
    spec = json.loads(editor.value)
    call = next(s for s in spec["steps"] if s.get("operation"))
    call["operation"] = "payments.refund"  # no granted scope allows it
    editor.input(json.dumps(spec)).run()
    app.button(key="drafts_save_json").click().run()
    assert not app.exception
    assert _shown(app.error[0].value) == "Version 2: rejected"
    assert "WF003" in set(_table(app, "rule_id")["rule_id"]), "the findings come with it"
    assert _select(app, f"drafts_version_{seeded}").value == 2
    assert {m for m in sys.modules if m.startswith("atc_draft_")} == before
    # One invalid edit is its own failure: the draft stays under review on version 1.
    store = DraftStore.in_data_dir(data_dir)
    assert store.get(seeded)["status"] == "draft"
    assert "Version 2: failed validation" in _texts(app)
    assert app.button(key="drafts_approve").disabled
    _select(app, f"drafts_version_{seeded}").set_value(1).run()
    _approve(app)
    assert not app.exception
    draft = store.get(seeded)
    assert (draft["status"], draft["approved_version"]) == ("approved", 1)
    assert [v["status"] for v in draft["versions"]] == ["approved", "failed validation"]
