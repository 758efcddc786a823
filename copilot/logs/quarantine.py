"""Bad lines are counted and quarantined, never fatal, never silently dropped.

Every reader reports each line it read as either a record or a rejection, so
``records + rejected == lines_read`` holds by construction and is asserted in
tests. The first few rejections are kept for display; all of them can be
written to a JSON-lines quarantine file.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

MAX_SAMPLES = 20
MAX_TEXT = 300


@dataclass(frozen=True)
class Rejected:
    """One quarantined line: where it was, why, and (the start of) its text."""

    source: str
    line: int | None
    reason: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "line": self.line, "reason": self.reason, "text": self.text}


@dataclass
class Quarantine:
    """Counts of what was read, with the rejected lines kept aside."""

    lines_read: int = 0
    records: int = 0
    rejected: int = 0
    samples: list[Rejected] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    path: Path | None = None
    _sink: IO[str] | None = field(default=None, repr=False)

    def accept(self, n: int) -> None:
        """Count ``n`` lines that became records."""
        self.lines_read += n
        self.records += n

    def reject(self, source: str, line: int | None, reason: str, text: str) -> None:
        """Count and keep one rejected line."""
        self.lines_read += 1
        self.rejected += 1
        self.reasons[reason.split(":")[0]] += 1
        item = Rejected(source, line, reason, _clip(text))
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(item)
        if self.path is not None:
            if self._sink is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._sink = self.path.open("a", encoding="utf-8")
            self._sink.write(json.dumps(item.to_dict()) + "\n")

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines_read": self.lines_read,
            "records": self.records,
            "rejected": self.rejected,
            "reasons": dict(self.reasons.most_common()),
            "samples": [s.to_dict() for s in self.samples],
            "file": str(self.path) if self.path else None,
        }


def _clip(text: str) -> str:
    text = text.rstrip("\r\n")
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
