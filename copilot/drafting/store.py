"""The draft store: drafts, their versions and the review trail, in SQLite.

One file under the data directory (``<data_dir>/drafts.sqlite3``). A draft
holds the request, scopes and product file; each version holds the spec,
the code the trusted renderer made of it, the findings, the dry-run report,
the planner, model and the hashes of the model identity, the prompt, the
spec and the code, and a unified diff against the version before. A spec
edit or a re-draft adds a version. Status moves ``draft`` -> ``approved`` /
``rejected`` (and back only by an explicit change of decision). Each version
has its own status (:func:`copilot.drafting.store_read.version_status`): a
version that fails validation is stored with its findings (never fixed
silently) as failed, and leaves the draft and its earlier valid version as
they were; a draft with no valid version at all is rejected by atc. A later
valid version re-opens the draft.

Decisions are compare-and-set in one write transaction: they name the
version and its spec hash, and land only if that is still the latest
version and the draft is undecided. A draft reviewed by a Temporal
ReviewWorkflow has that workflow as its one writer of decisions.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from copilot.drafting.decision import ReviewDecision, VersionState, decision_problem
from copilot.drafting.record import DraftRecord
from copilot.drafting.store_read import DraftReads
from copilot.drafting.store_schema import NewVersion, migrate, sha256, unified_diff
from copilot.errors import InputError, PolicyDenied

STORE_FILE = "drafts.sqlite3"
__all__ = ["STORE_FILE", "DraftStore", "NewVersion", "unified_diff"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def rendered_code_problem(spec_json: str | None, code: str | None, scopes: list[str]) -> str | None:
    """Why ``code`` is not exactly the renderer's output for ``spec_json``, or None."""
    from copilot.drafting.render import render
    from copilot.drafting.spec import WorkflowSpec
    from copilot.errors import SpecError

    if code is None:
        return None
    try:
        spec = WorkflowSpec.model_validate_json(spec_json or "")
        expected = render(spec, tuple(scopes))
    except (ValueError, SpecError):
        return "the version has code but no spec the renderer accepts"
    if code != expected:
        return "the code is not what atc's renderer makes of the spec; edit the spec, never code"
    return None


class DraftStore(DraftReads):
    """SQLite-backed drafts; safe to open from several processes (short transactions)."""

    def __init__(self, path: str | Path, *, clock: Callable[[], str] = _now) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        with self._write() as db:
            migrate(db)

    @classmethod
    def in_data_dir(cls, data_dir: str | Path) -> DraftStore:
        return cls(Path(data_dir) / STORE_FILE)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction that holds the write lock from its first read."""
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    # -- writing --------------------------------------------------------------
    def create(
        self,
        request: str,
        scopes: list[str],
        products: str,
        version: NewVersion,
        actor: str,
        *,
        draft_id: str | None = None,
    ) -> str:
        """Store a new draft with its first version; returns the draft id.

        With ``draft_id`` given, creating it again is a no-op that returns it
        (a retried activity whose first write committed).
        """
        draft_id = draft_id or "drf_" + secrets.token_hex(6)
        now = self.clock()
        with self._write() as db:
            found = db.execute("SELECT request FROM drafts WHERE id = ?", (draft_id,)).fetchone()
            if found is not None:
                if found["request"] != request:
                    raise InputError(f"draft id {draft_id} is taken by another request")
                return draft_id
            db.execute(
                "INSERT INTO drafts (id, name, request, scopes, products, status, created_at, "
                "created_by, updated_at) VALUES (?, ?, ?, ?, ?, 'draft', ?, ?, ?)",
                (draft_id, _name_of(version.spec_json), request, json.dumps(sorted(scopes)),
                 products, now, actor, now),
            )  # fmt: skip
            self._audit(db, draft_id, 1, actor, "created", request[:500])
            self._insert_version(db, draft_id, 1, version, actor, "planner", "", now)
        return draft_id

    def store_run(
        self, record: DraftRecord, products: str, actor: str, *, draft_id: str | None = None
    ) -> str:
        """A drafting run as a new draft (its version 1), from either way of drafting."""
        return self.create(
            record.request,
            list(record.scopes),
            products,
            NewVersion.from_record(record),
            actor,
            draft_id=draft_id,
        )

    def add_version(self, draft_id: str, version: NewVersion, actor: str, source: str) -> int:
        """Add a version (``edit`` or ``redraft``) with its diff; returns its number."""
        now = self.clock()
        with self._write() as db:
            self._draft_row(db, draft_id)
            last = db.execute(
                "SELECT version, spec_json, code FROM versions WHERE draft_id = ? "
                "ORDER BY version DESC LIMIT 1",
                (draft_id,),
            ).fetchone()
            number = last["version"] + 1
            diff = unified_diff(
                {"spec.json": last["spec_json"], "workflow.py": last["code"]},
                {"spec.json": version.spec_json, "workflow.py": version.code},
            )
            self._audit(db, draft_id, number, actor, f"new version ({source})", "")
            self._insert_version(db, draft_id, number, version, actor, source, diff, now)
        return number

    def set_review_workflow(self, draft_id: str, workflow_id: str) -> None:
        """From now on only ``workflow_id`` (through its activity) records decisions."""
        with self._write() as db:
            self._draft_row(db, draft_id)
            db.execute(
                "UPDATE drafts SET review_workflow_id = ? WHERE id = ?", (workflow_id, draft_id)
            )

    def _insert_version(
        self,
        db: sqlite3.Connection,
        draft_id: str,
        number: int,
        v: NewVersion,
        actor: str,
        source: str,
        diff: str,
        now: str,
    ) -> None:
        scopes = json.loads(self._draft_row(db, draft_id)["scopes"])
        problem = rendered_code_problem(v.spec_json, v.code, scopes)
        if problem:
            raise PolicyDenied(f"version refused: {problem}")
        db.execute(
            "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                draft_id, number, now, actor, source, v.spec_json, v.code,
                json.dumps(v.findings), json.dumps(v.dry_run) if v.dry_run else None,
                int(v.valid), v.planner, v.model, v.model_hash, v.prompt_hash,
                sha256(v.spec_json), sha256(v.code), v.attempts, v.prompt_tokens,
                v.completion_tokens, json.dumps(v.notes or []), diff,
            ),
        )  # fmt: skip
        rules = sorted({f["rule_id"] for f in v.findings if f.get("severity") == "error"})
        comment = "failed validation: " + (", ".join(rules) or "dry run")
        earlier_valid = db.execute(
            "SELECT 1 FROM versions WHERE draft_id = ? AND version < ? AND valid = 1",
            (draft_id, number),
        ).fetchone()
        if not v.valid and earlier_valid:
            # Its own failure: the earlier valid version stays under review (or decided).
            self._audit(db, draft_id, number, "atc", "failed validation", comment)
            return
        # A valid version re-opens the draft; a draft with no valid version is rejected.
        db.execute(
            "UPDATE drafts SET status = ?, approved_version = NULL, approved_spec_hash = NULL, "
            "updated_at = ? WHERE id = ?",
            ("draft" if v.valid else "rejected", now, draft_id),
        )
        if not v.valid:
            self._audit(db, draft_id, number, "atc", "rejected", comment)

    def _audit(
        self,
        db: sqlite3.Connection,
        draft_id: str,
        version: int | None,
        actor: str,
        action: str,
        comment: str,
        decision: ReviewDecision | None = None,
    ) -> None:
        db.execute(
            "INSERT INTO audit (draft_id, version, at, actor, action, comment, verified, "
            "spec_hash, decision_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (draft_id, version, self.clock(), actor, action, comment,
             int(decision.verified) if decision else 0,
             decision.spec_hash if decision else None,
             (decision.decision_id or None) if decision else None),
        )  # fmt: skip

    def decide(
        self, draft_id: str, decision: ReviewDecision, *, writer: str | None = None
    ) -> dict[str, Any]:
        """Apply a decision with compare-and-set on version and hash; returns the draft.

        Refused (``PolicyDenied``) when the version or hash is not the latest,
        the draft is already decided, or the draft has a review workflow and
        ``writer`` is not it. A decision whose ``decision_id`` already landed
        returns the draft as it is (a retried write).
        """
        with self._write() as db:
            row = self._draft_row(db, draft_id)
            if (
                decision.decision_id
                and db.execute(
                    "SELECT 1 FROM audit WHERE decision_id = ?", (decision.decision_id,)
                ).fetchone()
            ):
                return self._get(db, draft_id)
            owner = row["review_workflow_id"]
            if owner and writer != owner and decision.action != "comment":
                raise PolicyDenied(
                    f"draft {draft_id} is reviewed by the Temporal workflow {owner}; "
                    "its decisions go through that workflow's decide update"
                )
            state = self._state(db, draft_id)
            problem = decision_problem(state, decision)
            if problem:
                raise PolicyDenied(f"draft {draft_id}: {problem}")
            self._apply(db, draft_id, state, decision)
            return self._get(db, draft_id)

    def _apply(
        self, db: sqlite3.Connection, draft_id: str, state: VersionState, d: ReviewDecision
    ) -> None:
        if d.action == "comment":
            self._audit(db, draft_id, None, d.reviewer, "comment", d.comment, d)
            return
        action = "approved" if d.action == "approve" else "rejected"
        approved = state.version if action == "approved" else None
        # The trail says plainly when an earlier decision was reversed.
        action_label = f"changed to {action}" if d.change else action
        db.execute(
            "UPDATE drafts SET status = ?, approved_version = ?, approved_spec_hash = ?, "
            "updated_at = ? WHERE id = ?",
            (action, approved, state.spec_hash if approved else None, self.clock(), draft_id),
        )
        self._audit(db, draft_id, state.version, d.reviewer, action_label, d.comment, d)

    def comment(self, draft_id: str, actor: str, comment: str, *, verified: bool = False) -> None:
        self.decide(draft_id, ReviewDecision("comment", actor, comment, verified=verified))


def _name_of(spec_json: str | None) -> str | None:
    try:
        return json.loads(spec_json).get("name") if spec_json else None
    except (ValueError, AttributeError):
        return None
