"""The SQLite draft store: versions with diffs, status, audit trail, hashes."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import pytest

from copilot.drafting.store import DraftStore, NewVersion
from copilot.errors import DraftRejected, InputError

FINDING = {"rule_id": "WF003", "severity": "error", "message": "needs payments.refund", "where": ""}


@pytest.fixture
def store(tmp_path: Path) -> DraftStore:
    ticks = itertools.count()
    return DraftStore(
        tmp_path / "data" / "drafts.sqlite3",
        clock=lambda: f"2026-11-28T10:00:{next(ticks):02d}+00:00",
    )


def _version(
    code: str = "print(1)\n", valid: bool = True, spec: str = '{"name": "w"}\n'
) -> NewVersion:
    return NewVersion(
        spec_json=spec,
        code=code,
        findings=[] if valid else [FINDING],
        valid=valid,
        planner="offline",
        model=None,
        model_hash="m" * 64,
        prompt_hash="p" * 64,
        attempts=1,
        prompt_tokens=10,
        completion_tokens=5,
        notes=["offline planner, no LLM used"],
    )


def test_a_valid_draft_is_stored_as_draft_with_its_hashes(store: DraftStore) -> None:
    draft_id = store.create("cancel it", ["orders.write"], "products.json", _version(), "alice")
    draft = store.get(draft_id)
    assert (
        draft["status"] == "draft" and draft["name"] == "w" and draft["scopes"] == ["orders.write"]
    )
    version = store.version(draft_id)
    assert version["code_hash"] == hashlib.sha256(b"print(1)\n").hexdigest()
    assert version["prompt_hash"] == "p" * 64 and version["notes"] == [
        "offline planner, no LLM used"
    ]
    assert [a["action"] for a in draft["audit"]] == ["created"]


def test_an_invalid_draft_is_stored_rejected_with_its_findings(store: DraftStore) -> None:
    draft_id = store.create("refund", ["orders.read"], "p", _version(valid=False), "alice")
    draft = store.get(draft_id)
    assert draft["status"] == "rejected"
    assert draft["audit"][-1] == {
        "version": 1,
        "at": draft["audit"][-1]["at"],
        "actor": "atc",
        "action": "rejected",
        "comment": "failed validation: WF003",
    }
    assert store.version(draft_id)["findings"] == [FINDING]
    with pytest.raises(DraftRejected):
        store.approve(draft_id, "bob")


def test_edits_make_versions_with_diffs_and_reopen_review(store: DraftStore) -> None:
    draft_id = store.create("cancel it", ["orders.write"], "p", _version(), "alice")
    store.approve(draft_id, "bob", "fine")
    assert store.get(draft_id)["approved_version"] == 1
    number = store.add_version(draft_id, _version(code="print(2)\n"), "carol", "edit")
    assert number == 2
    draft = store.get(draft_id)
    assert (
        draft["status"] == "draft" and draft["approved_version"] is None
    )  # an edit needs a new review
    diff = store.version(draft_id, 2)["diff"]
    assert "-print(1)" in diff and "+print(2)" in diff and "b/workflow.py" in diff
    assert store.version(draft_id, 1)["diff"] == ""
    store.add_version(draft_id, _version(code="import os\n", valid=False), "carol", "edit")
    assert store.get(draft_id)["status"] == "rejected"
    store.add_version(draft_id, _version(code="print(3)\n"), "carol", "edit")
    store.approve(draft_id, "bob", "v4 is good")
    draft = store.get(draft_id)
    assert draft["status"] == "approved" and draft["approved_version"] == 4
    actions = [(a["actor"], a["action"]) for a in draft["audit"]]
    assert actions == [
        ("alice", "created"),
        ("bob", "approved"),
        ("carol", "new version (edit)"),
        ("carol", "new version (edit)"),
        ("atc", "rejected"),
        ("carol", "new version (edit)"),
        ("bob", "approved"),
    ]
    assert [v["version"] for v in draft["versions"]] == [1, 2, 3, 4]


def test_review_decisions_need_a_reviewer_and_a_draft(store: DraftStore) -> None:
    draft_id = store.create("x", ["orders.read"], "p", _version(), "alice")
    with pytest.raises(InputError, match="name who"):
        store.approve(draft_id, " ")
    with pytest.raises(InputError, match="no draft"):
        store.reject("drf_missing", "bob")
    store.comment(draft_id, "dave", "why a 48 h timeout?")
    store.reject(draft_id, "bob", "not needed")
    with pytest.raises(InputError, match="already rejected"):
        store.reject(draft_id, "bob")
    assert [d["id"] for d in store.list("rejected")] == [draft_id]
    assert store.get(draft_id)["audit"][-2]["comment"] == "why a 48 h timeout?"
