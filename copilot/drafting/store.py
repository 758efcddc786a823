"""The draft store: drafts, their versions and the review trail, in SQLite.

One file under the data directory (``<data_dir>/drafts.sqlite3``). A draft
holds the request, scopes and product file; each version holds the spec,
the code, the findings, the dry-run report, the planner, model and the
hashes of the model identity, the prompt, the spec and the code, and a
unified diff against the version before. An edit or a re-draft adds a
version. Status moves ``draft`` -> ``approved`` / ``rejected``; a version
that fails validation is stored as rejected with its findings (never fixed
silently), and a later valid version re-opens the draft. Every change is in
the audit trail: who, when, what, and their comment.
"""

from __future__ import annotations

import difflib
import json
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from copilot.errors import DraftRejected, InputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS drafts (
    id TEXT PRIMARY KEY,
    name TEXT,
    request TEXT NOT NULL,
    scopes TEXT NOT NULL,
    products TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'rejected')),
    approved_version INTEGER,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    draft_id TEXT NOT NULL REFERENCES drafts(id),
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    author TEXT NOT NULL,
    source TEXT NOT NULL,
    spec_json TEXT,
    code TEXT,
    findings_json TEXT NOT NULL,
    dry_run_json TEXT,
    valid INTEGER NOT NULL,
    planner TEXT,
    model TEXT,
    model_hash TEXT,
    prompt_hash TEXT,
    spec_hash TEXT,
    code_hash TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    notes_json TEXT NOT NULL DEFAULT '[]',
    diff TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (draft_id, version)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    draft_id TEXT NOT NULL REFERENCES drafts(id),
    version INTEGER,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT ''
);
"""
STORE_FILE = "drafts.sqlite3"


def _sha(text: str | None) -> str | None:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text is not None else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class NewVersion:
    """What a version is made of (from a drafting run or a human edit)."""

    spec_json: str | None
    code: str | None
    findings: list[dict[str, Any]]
    valid: bool
    dry_run: dict[str, Any] | None = None
    planner: str | None = None
    model: str | None = None
    model_hash: str | None = None
    prompt_hash: str | None = None
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    notes: list[str] | None = None


def unified_diff(before: dict[str, str | None], after: dict[str, str | None]) -> str:
    """A unified diff of the spec and code of two versions (``a/spec.json`` ...)."""
    out = []
    for name in ("spec.json", "workflow.py"):
        a = (before.get(name) or "").splitlines(keepends=True)
        b = (after.get(name) or "").splitlines(keepends=True)
        out += difflib.unified_diff(a, b, f"a/{name}", f"b/{name}")
    return "".join(out)


class DraftStore:
    """SQLite-backed drafts; safe to open from several processes (short transactions)."""

    def __init__(self, path: str | Path, *, clock: Callable[[], str] = _now) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        with self._db() as db:
            db.executescript(SCHEMA)

    @classmethod
    def in_data_dir(cls, data_dir: str | Path) -> DraftStore:
        return cls(Path(data_dir) / STORE_FILE)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        try:
            with db:
                yield db
        finally:
            db.close()

    # -- writing --------------------------------------------------------------
    def create(
        self, request: str, scopes: list[str], products: str, version: NewVersion, actor: str
    ) -> str:
        """Store a new draft with its first version; returns the draft id."""
        draft_id = "drf_" + secrets.token_hex(6)
        now = self.clock()
        name = _name_of(version.spec_json)
        with self._db() as db:
            db.execute(
                "INSERT INTO drafts VALUES (?, ?, ?, ?, ?, 'draft', NULL, ?, ?, ?)",
                (draft_id, name, request, json.dumps(sorted(scopes)), products, now, actor, now),
            )
            db.execute(
                "INSERT INTO audit (draft_id, version, at, actor, action, comment) "
                "VALUES (?, 1, ?, ?, 'created', ?)",
                (draft_id, now, actor, request[:500]),
            )
            self._insert_version(db, draft_id, 1, version, actor, "planner", "", now)
        return draft_id

    def add_version(self, draft_id: str, version: NewVersion, actor: str, source: str) -> int:
        """Add a version (``edit`` or ``redraft``) with its diff; returns its number."""
        now = self.clock()
        with self._db() as db:
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
            db.execute(
                "INSERT INTO audit (draft_id, version, at, actor, action, comment) "
                "VALUES (?, ?, ?, ?, ?, '')",
                (draft_id, number, now, actor, f"new version ({source})"),
            )
            self._insert_version(db, draft_id, number, version, actor, source, diff, now)
        return number

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
        db.execute(
            "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                draft_id, number, now, actor, source, v.spec_json, v.code,
                json.dumps(v.findings), json.dumps(v.dry_run) if v.dry_run else None,
                int(v.valid), v.planner, v.model, v.model_hash, v.prompt_hash,
                _sha(v.spec_json), _sha(v.code), v.attempts, v.prompt_tokens,
                v.completion_tokens, json.dumps(v.notes or []), diff,
            ),
        )  # fmt: skip
        # A version that fails validation leaves the draft rejected, with its findings.
        status = "draft" if v.valid else "rejected"
        db.execute(
            "UPDATE drafts SET status = ?, approved_version = NULL, updated_at = ? WHERE id = ?",
            (status, now, draft_id),
        )
        if not v.valid:
            rules = sorted({f["rule_id"] for f in v.findings if f.get("severity") == "error"})
            db.execute(
                "INSERT INTO audit (draft_id, version, at, actor, action, comment) "
                "VALUES (?, ?, ?, 'atc', 'rejected', ?)",
                (draft_id, number, now, "failed validation: " + (", ".join(rules) or "dry run")),
            )

    def _draft_row(self, db: sqlite3.Connection, draft_id: str) -> sqlite3.Row:
        row = db.execute("SELECT * FROM drafts WHERE id = ?", (draft_id,)).fetchone()
        if row is None:
            raise InputError(f"no draft {draft_id!r} in the store")
        return row

    def _decide(self, draft_id: str, actor: str, comment: str, action: str) -> dict[str, Any]:
        if not actor.strip():
            raise InputError("a review decision must name who made it")
        now = self.clock()
        with self._db() as db:
            row = self._draft_row(db, draft_id)
            latest = db.execute(
                "SELECT version, valid FROM versions WHERE draft_id = ? ORDER BY version DESC LIMIT 1",
                (draft_id,),
            ).fetchone()
            if action == "approved":
                if row["status"] != "draft":
                    raise DraftRejected(
                        f"draft {draft_id} is {row['status']}; only a draft can be approved"
                    )
                if not latest["valid"]:
                    raise DraftRejected(
                        f"version {latest['version']} failed validation; it cannot be approved"
                    )
            elif row["status"] == "rejected":
                raise InputError(f"draft {draft_id} is already rejected")
            approved = latest["version"] if action == "approved" else None
            db.execute(
                "UPDATE drafts SET status = ?, approved_version = ?, updated_at = ? WHERE id = ?",
                (action, approved, now, draft_id),
            )
            db.execute(
                "INSERT INTO audit (draft_id, version, at, actor, action, comment) VALUES (?, ?, ?, ?, ?, ?)",
                (draft_id, latest["version"], now, actor, action, comment),
            )
        return self.get(draft_id)

    def approve(self, draft_id: str, actor: str, comment: str = "") -> dict[str, Any]:
        """Approve the latest version (it must have passed validation)."""
        return self._decide(draft_id, actor, comment, "approved")

    def reject(self, draft_id: str, actor: str, comment: str = "") -> dict[str, Any]:
        return self._decide(draft_id, actor, comment, "rejected")

    def comment(self, draft_id: str, actor: str, comment: str) -> None:
        with self._db() as db:
            self._draft_row(db, draft_id)
            db.execute(
                "INSERT INTO audit (draft_id, version, at, actor, action, comment) "
                "VALUES (?, NULL, ?, ?, 'comment', ?)",
                (draft_id, self.clock(), actor, comment),
            )

    # -- reading --------------------------------------------------------------
    def get(self, draft_id: str) -> dict[str, Any]:
        """The draft with its version summaries and audit trail."""
        with self._db() as db:
            row = dict(self._draft_row(db, draft_id))
            versions = db.execute(
                "SELECT version, created_at, author, source, valid, planner, model, attempts, "
                "prompt_tokens, completion_tokens, spec_hash, code_hash, prompt_hash, model_hash "
                "FROM versions WHERE draft_id = ? ORDER BY version",
                (draft_id,),
            ).fetchall()
            audit = db.execute(
                "SELECT version, at, actor, action, comment FROM audit WHERE draft_id = ? ORDER BY id",
                (draft_id,),
            ).fetchall()
        row["scopes"] = json.loads(row["scopes"])
        row["versions"] = [{**dict(v), "valid": bool(v["valid"])} for v in versions]
        row["audit"] = [dict(a) for a in audit]
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
        query = "SELECT d.*, (SELECT MAX(version) FROM versions v WHERE v.draft_id = d.id) AS latest FROM drafts d"
        args: tuple = ()
        if status:
            query += " WHERE status = ?"
            args = (status,)
        with self._db() as db:
            rows = db.execute(query + " ORDER BY created_at DESC, id", args).fetchall()
        return [{**dict(r), "scopes": json.loads(r["scopes"])} for r in rows]


def _name_of(spec_json: str | None) -> str | None:
    try:
        return json.loads(spec_json).get("name") if spec_json else None
    except (ValueError, AttributeError):
        return None
