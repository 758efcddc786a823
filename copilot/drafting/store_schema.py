"""The draft store's tables, their migration, and the row a version is written from."""

from __future__ import annotations

import difflib
import hashlib
import sqlite3
from dataclasses import dataclass
from typing import Any

from copilot.drafting.record import DraftRecord

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

# Columns added after the first release: (table, column, declaration).
ADDED_COLUMNS = (
    ("drafts", "approved_spec_hash", "TEXT"),
    ("drafts", "review_workflow_id", "TEXT"),
    ("audit", "verified", "INTEGER NOT NULL DEFAULT 0"),
    ("audit", "spec_hash", "TEXT"),
    ("audit", "decision_id", "TEXT"),
)
INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS audit_decision_id ON audit(decision_id) "
    "WHERE decision_id IS NOT NULL",
)


def migrate(db: sqlite3.Connection) -> None:
    """Create the tables and add any column an older store file lacks."""
    # One statement at a time: executescript would commit the caller's transaction.
    for statement in filter(str.strip, SCHEMA.split(";")):
        db.execute(statement)
    for table, column, declaration in ADDED_COLUMNS:
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    for statement in INDEXES:
        db.execute(statement)


def sha256(text: str | None) -> str | None:
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text is not None else None


@dataclass
class NewVersion:
    """What a version is made of. Code is never taken from a person: the store checks
    that it is exactly what the trusted renderer makes of the spec."""

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

    @classmethod
    def from_record(cls, record: DraftRecord) -> NewVersion:
        """The one mapping from a drafting run (or a spec edit) to a stored version."""
        return cls(
            spec_json=record.spec_text(),
            code=record.code,
            findings=list(record.findings),
            valid=record.valid,
            dry_run=record.dry_run,
            planner=record.planner,
            model=record.model,
            model_hash=record.model_hash,
            prompt_hash=record.prompt_hash,
            attempts=record.attempts,
            prompt_tokens=record.prompt_tokens,
            completion_tokens=record.completion_tokens,
            notes=list(record.notes),
        )


def unified_diff(before: dict[str, str | None], after: dict[str, str | None]) -> str:
    """A unified diff of the spec and code of two versions (``a/spec.json`` ...)."""
    out = []
    for name in ("spec.json", "workflow.py"):
        a = (before.get(name) or "").splitlines(keepends=True)
        b = (after.get(name) or "").splitlines(keepends=True)
        out += difflib.unified_diff(a, b, f"a/{name}", f"b/{name}")
    return "".join(out)
