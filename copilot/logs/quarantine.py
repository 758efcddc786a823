"""Bad lines are counted and quarantined, never fatal, never silently dropped.

Every reader reports each line it read as either a record or a rejection, so
``records + rejected == lines_read`` holds by construction and is asserted in
tests. The first few rejections are kept for display; all of them can be
written to a JSON-lines quarantine file.

A rejection has a ``kind`` (a short stable code such as ``bad_timestamp``) and
a ``detail`` (the offending value or the parser's message): counts group by
kind, so three bad timestamps are one kind counted three times, each detail
still kept in its line's record.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

MAX_SAMPLES = 20
MAX_TEXT = 300

BAD_UTF8 = "bad_utf8"
BAD_JSON = "bad_json"
NOT_AN_OBJECT = "not_an_object"
NO_PAYLOAD = "no_payload"
BAD_YAML = "bad_yaml"
NO_TEMPLATE_MATCH = "no_template_match"
MALFORMED = "malformed"
WRONG_FIELD_COUNT = "wrong_field_count"
MISSING_FIELD = "missing_field"
BAD_TIMESTAMP = "bad_timestamp"
BAD_NUMBER = "bad_number"
OUT_OF_RANGE = "out_of_range"
NEGATIVE = "negative"
BAD_VERB = "bad_verb"

# How a person reads each kind; ``{}`` is the detail.
MESSAGES = {
    BAD_UTF8: "not UTF-8 text",
    BAD_JSON: "malformed: {}",
    NOT_AN_OBJECT: "malformed: {}",
    NO_PAYLOAD: "malformed: {}",
    BAD_YAML: "malformed: {}",
    NO_TEMPLATE_MATCH: "malformed: {}",
    MALFORMED: "malformed: {}",
    WRONG_FIELD_COUNT: "wrong number of fields ({})",
    MISSING_FIELD: "missing {}",
    BAD_TIMESTAMP: "bad timestamp {}",
    BAD_NUMBER: "bad {}",
    OUT_OF_RANGE: "{} is out of range",
    NEGATIVE: "negative {}",
    BAD_VERB: "bad request_verb {}",
}


class Reason(NamedTuple):
    """Why a line was rejected: a stable ``kind`` and the offending ``detail``."""

    kind: str
    detail: str = ""

    @property
    def message(self) -> str:
        """The reason as a person reads it (``bad timestamp '2025-13-01'``)."""
        return MESSAGES.get(self.kind, self.kind + ": {}").format(self.detail)


class Malformed(ValueError):
    """A line parser's refusal, with the kind of failure (the message is the detail)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


def parse_failure(exc: Exception) -> Reason:
    """The reason a line parser's exception stands for."""
    if isinstance(exc, Malformed):
        return Reason(exc.kind, str(exc))
    if isinstance(exc, json.JSONDecodeError):
        return Reason(BAD_JSON, str(exc))
    return Reason(MALFORMED, str(exc))


@dataclass(frozen=True)
class Rejected:
    """One quarantined line: where it was, why, and (the start of) its text."""

    source: str
    line: int | None
    kind: str
    detail: str
    text: str

    @property
    def reason(self) -> str:
        """Kind and detail as one sentence, for people."""
        return Reason(self.kind, self.detail).message

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "line": self.line,
            "kind": self.kind,
            "detail": self.detail,
            "reason": self.reason,
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rejected:
        """Read back what :meth:`to_dict` wrote."""
        return cls(data["source"], data["line"], data["kind"], data["detail"], data["text"])


@dataclass
class Quarantine:
    """Counts of what was read, with the rejected lines kept aside."""

    lines_read: int = 0
    records: int = 0
    rejected: int = 0
    samples: list[Rejected] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    path: Path | None = None
    _sink: IO[str] | None = field(default=None, repr=False)

    def accept(self, n: int) -> None:
        """Count ``n`` lines that became records."""
        self.lines_read += n
        self.records += n

    def reject(self, source: str, line: int | None, reason: Reason, text: str) -> None:
        """Count (under its kind) and keep one rejected line."""
        self.lines_read += 1
        self.rejected += 1
        self.kinds[reason.kind] += 1
        item = Rejected(source, line, reason.kind, reason.detail, _clip(text))
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
            "kinds": dict(self.kinds.most_common()),
            "samples": [s.to_dict() for s in self.samples],
            "file": str(self.path) if self.path else None,
        }


def _clip(text: str) -> str:
    text = text.rstrip("\r\n")
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
