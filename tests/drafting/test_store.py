"""The SQLite draft store: rendered-only versions, hashes, compare-and-set decisions, audit."""

from __future__ import annotations

import hashlib
import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from copilot.drafting.decision import ReviewDecision
from copilot.drafting.render import render
from copilot.drafting.spec import WorkflowSpec
from copilot.drafting.store import DraftStore, NewVersion
from copilot.errors import InputError, PolicyDenied
from copilot.scopes import DEFAULT_PRODUCTS
from tests.drafting.specs import minimal

SCOPES = ["orders.read", "orders.write"]
FINDING = {"rule_id": "WF003", "severity": "error", "message": "needs payments.refund", "where": ""}


@pytest.fixture
def store(tmp_path: Path) -> DraftStore:
    ticks = itertools.count()
    return DraftStore(
        tmp_path / "data" / "drafts.sqlite3",
        clock=lambda: f"2026-11-28T10:00:00.{next(ticks):06d}+00:00",
    )


def _version(doc: dict[str, Any] | None = None, *, valid: bool = True) -> NewVersion:
    spec = WorkflowSpec.model_validate(doc or minimal())
    return NewVersion(
        spec_json=spec.to_json(),
        code=render(spec, tuple(SCOPES)),
        findings=[] if valid else [FINDING],
        valid=valid,
        planner="offline",
        model_hash="m" * 64,
        prompt_hash="p" * 64,
        attempts=1,
        notes=["offline planner, no LLM used"],
    )


def _draft(store: DraftStore, **kw: Any) -> str:
    return store.create("get an order", SCOPES, str(DEFAULT_PRODUCTS), _version(), "alice", **kw)


def _decision(
    store: DraftStore, draft_id: str, action: str = "approve", reviewer: str = "bob", **kw: Any
) -> ReviewDecision:
    """A decision on the draft's current version, as a reviewer who just looked would send."""
    state = store.state(draft_id)
    return ReviewDecision(action, reviewer, version=state.version, spec_hash=state.spec_hash, **kw)


def test_a_version_records_the_hashes_of_its_spec_and_rendered_code(store: DraftStore) -> None:
    draft_id = _draft(store)
    version = store.version(draft_id)
    assert version["spec_hash"] == hashlib.sha256(version["spec_json"].encode()).hexdigest()
    assert version["code_hash"] == hashlib.sha256(version["code"].encode()).hexdigest()
    assert store.get(draft_id)["status"] == "draft"


@pytest.mark.parametrize(
    "code",
    [
        "import os\nos.system('touch /tmp/x')\n",
        "",  # empty code is not what the renderer makes either
        None,  # handled below: code None is allowed (nothing rendered)
    ],
)
def test_only_code_the_renderer_makes_of_the_spec_is_stored(
    store: DraftStore, code: str | None
) -> None:
    draft_id = _draft(store)
    edited = _version(minimal(timeout_s=45))
    if code is None:
        edited.code, edited.valid = None, False
        assert store.add_version(draft_id, edited, "eve", "edit") == 2
        return
    edited.code = edited.code + "\n# harmless?\n" if code == "" else code
    with pytest.raises(PolicyDenied, match="edit the spec, never code"):
        store.add_version(draft_id, edited, "eve", "edit")
    assert [v["version"] for v in store.get(draft_id)["versions"]] == [1]


def test_code_without_a_spec_the_renderer_accepts_is_refused(store: DraftStore) -> None:
    draft_id = _draft(store)
    version = NewVersion(spec_json='{"name": "w"}', code="print(1)\n", findings=[], valid=True)
    with pytest.raises(PolicyDenied, match="no spec the renderer accepts"):
        store.add_version(draft_id, version, "eve", "edit")


def test_an_invalid_version_is_stored_rejected_with_its_findings(store: DraftStore) -> None:
    draft_id = store.create("x", SCOPES, "p.json", _version(valid=False), "alice")
    assert store.get(draft_id)["status"] == "rejected"
    assert store.version(draft_id)["findings"] == [FINDING]
    assert store.get(draft_id)["audit"][-1]["comment"] == "failed validation: WF003"


def test_creating_a_draft_under_a_chosen_id_twice_is_a_no_op(store: DraftStore) -> None:
    assert _draft(store, draft_id="drf_fixed") == "drf_fixed"
    assert _draft(store, draft_id="drf_fixed") == "drf_fixed"
    assert len(store.list()) == 1 and len(store.get("drf_fixed")["versions"]) == 1
    with pytest.raises(InputError, match="taken by another request"):
        store.create("other", SCOPES, "p.json", _version(), "alice", draft_id="drf_fixed")


def test_an_approval_names_the_version_and_hash_it_saw(store: DraftStore) -> None:
    draft_id = _draft(store)
    seen = _decision(store, draft_id)
    store.add_version(draft_id, _version(minimal(timeout_s=45)), "carol", "edit")
    with pytest.raises(PolicyDenied, match="version 1 .* is not the current version 2"):
        store.decide(draft_id, seen)
    assert store.get(draft_id)["status"] == "draft"
    current = _decision(store, draft_id)
    draft = store.decide(draft_id, current)
    assert (draft["status"], draft["approved_version"]) == ("approved", 2)
    assert draft["approved_spec_hash"] == current.spec_hash


@pytest.mark.parametrize(
    ("spec_hash", "accepted"),
    [
        ("full", True),
        ("prefix12", True),
        ("prefix11", False),
        ("wrong", False),
        ("", False),
    ],
)
def test_the_hash_must_match_the_current_spec(
    store: DraftStore, spec_hash: str, accepted: bool
) -> None:
    draft_id = _draft(store)
    actual = store.state(draft_id).spec_hash
    given = {
        "full": actual,
        "prefix12": actual[:12],
        "prefix11": actual[:11],
        "wrong": "0" * 64,
        "": "",
    }[spec_hash]
    decision = ReviewDecision("approve", "bob", version=1, spec_hash=given)
    if accepted:
        assert store.decide(draft_id, decision)["status"] == "approved"
    else:
        with pytest.raises(PolicyDenied, match="not the current version"):
            store.decide(draft_id, decision)


def test_a_decided_draft_is_not_decided_again_until_a_new_version(store: DraftStore) -> None:
    draft_id = _draft(store)
    store.decide(draft_id, _decision(store, draft_id, comment="looks right"))
    with pytest.raises(PolicyDenied, match="already approved by bob"):
        store.decide(draft_id, _decision(store, draft_id, "reject", comment="looks right"))
    store.add_version(draft_id, _version(minimal(timeout_s=45)), "carol", "edit")
    draft = store.decide(draft_id, _decision(store, draft_id, "reject", comment="no"))
    assert draft["status"] == "rejected" and draft["approved_version"] is None


def test_a_failed_version_is_its_own_and_the_earlier_valid_one_can_still_be_approved(
    store: DraftStore,
) -> None:
    draft_id = _draft(store)
    v1 = store.version(draft_id, 1)
    store.add_version(draft_id, _version(minimal(timeout_s=45), valid=False), "carol", "edit")
    v2 = store.version(draft_id, 2)
    draft = store.get(draft_id)
    assert draft["status"] == "draft", "one invalid edit does not reject the draft"
    assert [v["status"] for v in draft["versions"]] == ["awaiting review", "failed validation"]
    assert (draft["review_version"], draft["audit"][-1]["action"]) == (1, "failed validation")
    failed = ReviewDecision("approve", "bob", version=2, spec_hash=v2["spec_hash"])
    with pytest.raises(PolicyDenied, match="is not the current version 1"):
        store.decide(draft_id, failed)
    landed = store.decide(
        draft_id, ReviewDecision("approve", "bob", version=1, spec_hash=v1["spec_hash"])
    )
    assert (landed["status"], landed["approved_version"]) == ("approved", 1)
    assert [v["status"] for v in landed["versions"]] == ["approved", "failed validation"]


def test_a_draft_whose_only_version_failed_is_rejected_by_atc(store: DraftStore) -> None:
    draft_id = store.create(
        "get an order", SCOPES, str(DEFAULT_PRODUCTS), _version(valid=False), "alice"
    )
    draft = store.get(draft_id)
    assert draft["status"] == "rejected" and draft["review_version"] is None
    assert draft["versions"][0]["status"] == "failed validation"
    with pytest.raises(PolicyDenied, match="failed validation"):
        store.decide(draft_id, _decision(store, draft_id, change=True, comment="try anyway"))


def test_a_decision_changes_only_explicitly_with_its_own_comment(store: DraftStore) -> None:
    draft_id = _draft(store)
    store.decide(draft_id, _decision(store, draft_id, comment="fine"))
    with pytest.raises(PolicyDenied, match="use Change decision"):
        store.decide(draft_id, _decision(store, draft_id, "reject", comment="fine"))
    with pytest.raises(PolicyDenied, match="needs its own comment"):
        store.decide(draft_id, _decision(store, draft_id, "reject", change=True))
    with pytest.raises(PolicyDenied, match="must reject"):
        store.decide(draft_id, _decision(store, draft_id, change=True, comment="again"))
    changed = store.decide(
        draft_id, _decision(store, draft_id, "reject", "erin", change=True, comment="wrong team")
    )
    assert (changed["status"], changed["approved_version"]) == ("rejected", None)
    assert [(a["action"], a["actor"], a["comment"]) for a in changed["audit"][-2:]] == [
        ("approved", "bob", "fine"),
        ("changed to rejected", "erin", "wrong team"),
    ]
    assert store.state(draft_id).decided_by == "erin"
    with pytest.raises(PolicyDenied, match="no decision to change"):
        fresh = _draft(store)
        store.decide(fresh, _decision(store, fresh, change=True, comment="x"))


def test_a_retried_decision_returns_what_landed(store: DraftStore) -> None:
    draft_id = _draft(store)
    decision = _decision(store, draft_id, decision_id="dec-1")
    first = store.decide(draft_id, decision)
    again = store.decide(draft_id, decision)
    assert first == again
    assert [a["action"] for a in again["audit"]].count("approved") == 1


def test_a_draft_under_a_review_workflow_has_that_workflow_as_its_one_writer(
    store: DraftStore,
) -> None:
    draft_id = _draft(store)
    store.set_review_workflow(draft_id, "review-" + draft_id)
    with pytest.raises(PolicyDenied, match="decide update"):
        store.decide(draft_id, _decision(store, draft_id))
    with pytest.raises(PolicyDenied, match="decide update"):
        store.decide(draft_id, _decision(store, draft_id), writer="review-someone-else")
    landed = store.decide(draft_id, _decision(store, draft_id), writer="review-" + draft_id)
    assert landed["status"] == "approved"
    store.comment(draft_id, "dave", "comments need no workflow")


def test_the_audit_trail_says_whether_the_decider_was_verified(store: DraftStore) -> None:
    draft_id = _draft(store)
    store.decide(draft_id, _decision(store, draft_id, verified=True))
    audit = store.get(draft_id)["audit"]
    approved = next(a for a in audit if a["action"] == "approved")
    assert approved["verified"] is True and approved["actor"] == "bob"
    assert approved["spec_hash"] == store.state(draft_id).spec_hash


def test_concurrent_approve_and_reject_land_exactly_once(store: DraftStore) -> None:
    draft_id = _draft(store)
    decisions = [_decision(store, draft_id, "approve" if i % 2 else "reject") for i in range(8)]

    def attempt(decision: ReviewDecision) -> str:
        try:
            return DraftStore(store.path).decide(draft_id, decision)["status"]
        except PolicyDenied:
            return "refused"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, decisions))
    assert sorted(outcomes).count("refused") == 7
    audit = store.get(draft_id)["audit"]
    assert len([a for a in audit if a["action"] in ("approved", "rejected")]) == 1


def test_a_decision_must_name_its_reviewer_and_a_known_draft(store: DraftStore) -> None:
    draft_id = _draft(store)
    with pytest.raises(PolicyDenied, match="name its reviewer"):
        store.decide(draft_id, _decision(store, draft_id, reviewer=" "))
    with pytest.raises(InputError, match="no draft"):
        store.decide("drf_missing", ReviewDecision("approve", "bob", version=1, spec_hash="0" * 64))


def test_an_older_store_file_gains_the_new_columns(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, draft_id TEXT NOT NULL, "
            "version INTEGER, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, "
            "comment TEXT NOT NULL DEFAULT '')"
        )
    store = DraftStore(path)
    draft_id = _draft(store)
    assert store.get(draft_id)["audit"][0]["verified"] is False
    assert json.loads(json.dumps(store.get(draft_id)))  # plain data all the way down
