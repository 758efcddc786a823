"""Only an approved version that still is what was approved may run (no server needed)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from copilot.drafting.decision import ReviewDecision
from copilot.drafting.render import FORMER_RUNTIME_MODULES, RUNTIME_MODULE, render
from copilot.drafting.spec import WorkflowSpec
from copilot.drafting.store import DraftStore, NewVersion
from copilot.errors import PolicyDenied
from copilot.runs.approved import approved_version, run_type_name, servable_versions
from copilot.scopes import DEFAULT_PRODUCTS
from tests.drafting.specs import FLAGSHIP_SCOPES, flagship


def _version(spec: dict) -> NewVersion:
    parsed = WorkflowSpec.model_validate(spec)
    return NewVersion(parsed.to_json(), render(parsed, FLAGSHIP_SCOPES), [], True)


def _approve(store: DraftStore, draft_id: str) -> None:
    state = store.state(draft_id)
    store.decide(draft_id, ReviewDecision("approve", "alice", "", state.version, state.spec_hash))


@pytest.fixture
def store(tmp_path: Path) -> DraftStore:
    return DraftStore.in_data_dir(tmp_path)


def _draft(store: DraftStore, approve: bool = True) -> str:
    draft_id = store.create(
        "t", list(FLAGSHIP_SCOPES), str(DEFAULT_PRODUCTS), _version(flagship()), "bob"
    )
    if approve:
        _approve(store, draft_id)
    return draft_id


def _edited() -> dict:
    spec = flagship()
    spec["steps"][2]["prompt"] = "Really approve order ${inputs.order_id}?"
    return spec


def test_the_approved_version_loads_with_its_own_type_and_queue(store: DraftStore) -> None:
    draft_id = _draft(store)
    approved = approved_version(store, draft_id)
    row = store.version(draft_id, 1)
    assert (approved.version, approved.spec_hash, approved.code_hash) == (
        1, row["spec_hash"], row["code_hash"],
    )  # fmt: skip
    assert approved.code == row["code"]
    assert approved.workflow_type == f"atc-draft.hold_large_orders.v1.{row['spec_hash'][:12]}"
    assert approved.task_queue("atc-runs") == f"atc-runs.{draft_id}.v1"


def test_an_unapproved_draft_is_refused(store: DraftStore) -> None:
    draft_id = _draft(store, approve=False)
    with pytest.raises(PolicyDenied, match="is not approved"):
        approved_version(store, draft_id)


def test_a_version_other_than_the_approved_one_is_refused(store: DraftStore) -> None:
    draft_id = _draft(store)
    store.add_version(draft_id, _version(_edited()), "bob", "edit")
    _approve(store, draft_id)
    assert approved_version(store, draft_id).version == 2
    with pytest.raises(PolicyDenied, match="version 1 is not the approved version"):
        approved_version(store, draft_id, 1)


# (statement, the refusal names, whether the worker still serves the version: a changed
# version never is; a changed approval field on the draft leaves the version itself intact,
# and the worker checks versions against their approval in the audit trail).
TAMPERING = [
    ("UPDATE versions SET code = code || '\n# changed\n'", "code_hash differs", False),
    (
        "UPDATE versions SET spec_json = replace(spec_json, '10000', '1')",
        "spec_hash differs",
        False,
    ),
    (
        "UPDATE versions SET spec_json = replace(spec_json, '10000', '1'), "
        "spec_hash = 'ab' || substr(spec_hash, 3)",
        "spec_hash differs",
        False,
    ),
    ("UPDATE versions SET code_hash = 'ab' || substr(code_hash, 3)", "code_hash differs", False),
    (
        "UPDATE drafts SET approved_spec_hash = 'ab' || substr(approved_spec_hash, 3)",
        "spec_hash differs",
        True,
    ),
]


@pytest.mark.parametrize(("sql", "reason", "served"), TAMPERING)
def test_a_version_changed_in_the_database_is_refused_naming_the_hash(
    store: DraftStore, sql: str, reason: str, served: bool
) -> None:
    draft_id = _draft(store)
    with sqlite3.connect(store.path) as db:
        db.execute(sql)
    with pytest.raises(PolicyDenied, match=reason):
        approved_version(store, draft_id)
    versions, skipped = servable_versions(store)
    assert (len(versions), len(skipped)) == ((1, 0) if served else (0, 1))


def test_earlier_approved_versions_stay_servable_and_unapproved_ones_never_are(
    store: DraftStore,
) -> None:
    draft_id = _draft(store)
    store.add_version(draft_id, _version(_edited()), "bob", "edit")  # v2, pending review
    pending = _draft(store, approve=False)
    served, skipped = servable_versions(store)
    assert [(v.draft_id, v.version) for v in served] == [(draft_id, 1)]
    assert skipped == []
    _approve(store, draft_id)
    served, _ = servable_versions(store)
    assert sorted((v.draft_id, v.version) for v in served) == [(draft_id, 1), (draft_id, 2)]
    assert pending not in {v.draft_id for v in served}
    assert len({v.workflow_type for v in served}) == 2


def test_type_names_differ_by_version_and_spec_hash() -> None:
    assert run_type_name("x_y", 1, "a" * 64) == "atc-draft.x_y.v1.aaaaaaaaaaaa"
    assert run_type_name("x_y", 2, "a" * 64) != run_type_name("x_y", 1, "a" * 64)
    assert run_type_name("x_y", 1, "b" * 64) != run_type_name("x_y", 1, "a" * 64)


def _store_code_as(store: DraftStore, draft_id: str, code: str) -> None:
    """Rewrite version 1's code and code hash (what an older atc would have stored)."""
    digest = hashlib.sha256(code.encode("utf-8")).hexdigest()
    with sqlite3.connect(store.path) as db:
        db.execute(
            "UPDATE versions SET code = ?, code_hash = ? WHERE draft_id = ? AND version = 1",
            (code, digest, draft_id),
        )


def test_a_version_stored_under_the_former_runtime_name_runs_todays_rendering(
    store: DraftStore,
) -> None:
    draft_id = _draft(store)
    today = store.version(draft_id, 1)["code"]
    assert f"from {RUNTIME_MODULE} import (" in today
    former = today.replace(RUNTIME_MODULE, FORMER_RUNTIME_MODULES[0])
    _store_code_as(store, draft_id, former)
    approved = approved_version(store, draft_id)
    assert approved.code == today
    assert FORMER_RUNTIME_MODULES[0] not in approved.code


def test_stored_code_that_differs_in_more_than_the_runtime_name_is_still_refused(
    store: DraftStore,
) -> None:
    draft_id = _draft(store)
    today = store.version(draft_id, 1)["code"]
    former = today.replace(RUNTIME_MODULE, FORMER_RUNTIME_MODULES[0]) + "# changed\n"
    _store_code_as(store, draft_id, former)
    with pytest.raises(PolicyDenied, match="code_hash differs"):
        approved_version(store, draft_id)
