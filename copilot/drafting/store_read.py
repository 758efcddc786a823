"""Reading the draft store: drafts, versions and their own status, the version under review."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from copilot.drafting.decision import VersionState
from copilot.errors import InputError

DECISION_ACTIONS = ("approved", "rejected", "changed to approved", "changed to rejected")
DECISIONS_SQL = ", ".join(f"'{a}'" for a in DECISION_ACTIONS)


def review_version(versions: list[dict[str, Any]]) -> int | None:
    """The version under review: the latest that passed validation (None: none did)."""
    valid = [v["version"] for v in versions if v["valid"]]
    return max(valid) if valid else None


def version_status(draft: dict[str, Any], number: int) -> str:
    """One version's own status: ``failed validation``, ``approved``, ``rejected``,
    ``awaiting review`` or ``superseded`` (a later valid version is under review)."""
    version = next(v for v in draft["versions"] if v["version"] == number)
    if not version["valid"]:
        return "failed validation"
    under_review = review_version(draft["versions"])
    if number != under_review:
        return "superseded"
    if draft["status"] == "approved" and draft["approved_version"] == number:
        return "approved"
    if draft["status"] == "rejected":
        return "rejected"
    return "awaiting review"


class DraftReads:
    """The read side of :class:`copilot.drafting.store.DraftStore`."""

    path: Path

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        try:
            with db:
                yield db
        finally:
            db.close()

    def _draft_row(self, db: sqlite3.Connection, draft_id: str) -> sqlite3.Row:
        row = db.execute("SELECT * FROM drafts WHERE id = ?", (draft_id,)).fetchone()
        if row is None:
            raise InputError(f"no draft {draft_id!r} in the store")
        return row

    def _state(self, db: sqlite3.Connection, draft_id: str) -> VersionState:
        row = self._draft_row(db, draft_id)
        # Under review: the latest version that passed validation (else the latest at all).
        latest = db.execute(
            "SELECT version, valid, spec_hash, code_hash FROM versions WHERE draft_id = ? "
            "ORDER BY valid DESC, version DESC LIMIT 1",
            (draft_id,),
        ).fetchone()
        decided = db.execute(
            f"SELECT actor FROM audit WHERE draft_id = ? AND action IN ({DECISIONS_SQL}) "
            "ORDER BY id DESC LIMIT 1",
            (draft_id,),
        ).fetchone()
        return VersionState(
            latest["version"], bool(latest["valid"]), row["status"], latest["spec_hash"] or "",
            latest["code_hash"] or "", row["approved_version"], decided["actor"] if decided else "",
        )  # fmt: skip

    def state(self, draft_id: str) -> VersionState:
        """The version under review, its hashes and the draft's status."""
        with self._db() as db:
            return self._state(db, draft_id)

    # -- reading --------------------------------------------------------------
    def get(self, draft_id: str) -> dict[str, Any]:
        """The draft with its version summaries and audit trail."""
        with self._db() as db:
            return self._get(db, draft_id)

    def _get(self, db: sqlite3.Connection, draft_id: str) -> dict[str, Any]:
        row = dict(self._draft_row(db, draft_id))
        versions = db.execute(
            "SELECT version, created_at, author, source, valid, planner, model, attempts, "
            "prompt_tokens, completion_tokens, spec_hash, code_hash, prompt_hash, model_hash "
            "FROM versions WHERE draft_id = ? ORDER BY version",
            (draft_id,),
        ).fetchall()
        audit = db.execute(
            "SELECT version, at, actor, action, comment, verified, spec_hash FROM audit "
            "WHERE draft_id = ? ORDER BY id",
            (draft_id,),
        ).fetchall()
        row["scopes"] = json.loads(row["scopes"])
        row["versions"] = [{**dict(v), "valid": bool(v["valid"])} for v in versions]
        row["audit"] = [{**dict(a), "verified": bool(a["verified"])} for a in audit]
        row["review_version"] = review_version(row["versions"])
        for v in row["versions"]:
            v["status"] = version_status(row, v["version"])
        return row

    def version(self, draft_id: str, number: int | None = None) -> dict[str, Any]:
        """One version in full (the latest when ``number`` is None)."""
        with self._db() as db:
            self._draft_row(db, draft_id)
            if number is None:
                row = db.execute(
                    "SELECT * FROM versions WHERE draft_id = ? ORDER BY version DESC LIMIT 1",
                    (draft_id,),
                ).fetchone()
            else:
                row = db.execute(
                    "SELECT * FROM versions WHERE draft_id = ? AND version = ?", (draft_id, number)
                ).fetchone()
        if row is None:
            raise InputError(f"draft {draft_id} has no version {number}")
        out = dict(row)
        out["valid"] = bool(out["valid"])
        out["findings"] = json.loads(out.pop("findings_json"))
        out["dry_run"] = json.loads(out.pop("dry_run_json")) if out["dry_run_json"] else None
        out["notes"] = json.loads(out.pop("notes_json"))
        return out

    def list(self, status: str | None = None) -> list[dict[str, Any]]:
        """Drafts, newest first (optionally only one status)."""
        query = (
            "SELECT d.*, (SELECT MAX(version) FROM versions v WHERE v.draft_id = d.id) AS latest "
            "FROM drafts d"
        )
        args: tuple = ()
        if status:
            query += " WHERE status = ?"
            args = (status,)
        with self._db() as db:
            rows = db.execute(query + " ORDER BY created_at DESC, id", args).fetchall()
        return [{**dict(r), "scopes": json.loads(r["scopes"])} for r in rows]
