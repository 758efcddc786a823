"""``gcloud logging read --format=yaml``: a YAML stream of LogEntry documents.

gcloud prints each entry as one YAML document (keys sorted: ``insertId``,
``jsonPayload``, ``logName``, ``receiveTimestamp``, ``resource``, ``severity``,
``timestamp``...) separated by ``---`` lines. The stream is read one document
at a time, so memory stays flat; each document is parsed with PyYAML's safe
loader (the C one when built) and then read exactly like a Cloud Logging JSON
entry (``copilot.logs.cloud_logging.parse_entry``).
``--format=json`` (one JSON array) is read by ``cloud_logging``. See
cloud.google.com/sdk/gcloud/reference/logging/read and
cloud.google.com/logging/docs/reference/v2/rest/v2/LogEntry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from copilot.logs.cloud_logging import parse_entry
from copilot.logs.lines import records_to_chunks
from copilot.logs.quarantine import BAD_YAML, Malformed, Quarantine
from copilot.logs.sources import open_binary
from copilot.logs.templates import Template

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ENTRY_KEYS = ("insertId", "jsonPayload", "textPayload", "logName", "receiveTimestamp")


def looks_like_yaml_entries(head: str) -> bool:
    """True when a file starts like gcloud's YAML: top-level LogEntry keys, not JSON."""
    lines = [line for line in head.splitlines() if line.strip() and not line.startswith("#")]
    if not lines or lines[0].lstrip().startswith(("{", "[")):
        return False
    top = {line.split(":", 1)[0] for line in lines[:200] if line[:1].isalpha() and ":" in line}
    return bool(top & set(ENTRY_KEYS)) and (lines[0].strip() == "---" or lines[0][:1].isalpha())


def iter_documents(path: Path) -> Iterator[tuple[int, str]]:
    """``(first line number, text)`` of each YAML document of the stream."""
    start, lines = 1, []
    with open_binary(path) as fh:
        for number, raw in enumerate(fh, 1):
            line = raw.decode("utf-8", "replace")
            if line.rstrip() in ("---", "..."):
                if any(x.strip() for x in lines):
                    yield start, "".join(lines)
                start, lines = number + 1, []
                continue
            lines.append(line)
    if any(x.strip() for x in lines):
        yield start, "".join(lines)


def _plain(value: Any) -> Any:
    """YAML's own types back to what the JSON entry holds (times as RFC 3339 text)."""
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def read_gcloud_yaml(
    path: Path,
    quarantine: Quarantine,
    *,
    columns: tuple[str, ...] | None = None,
    template: str | None = None,
    block_docs: int = 50_000,
) -> Iterator[pd.DataFrame]:
    """Yield canonical chunks from a ``gcloud logging read --format=yaml`` file."""
    compiled = Template(template) if template else Template()

    def parse(text: str) -> dict[str, Any]:
        try:
            entry = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
        except yaml.YAMLError as exc:
            raise Malformed(BAD_YAML, f"not YAML ({str(exc).splitlines()[0]})") from None
        return parse_entry(_plain(entry), compiled)

    block: list[tuple[int, str, str]] = []
    for number, text in iter_documents(path):
        block.append((number, text, text))
        if len(block) >= block_docs:
            yield from records_to_chunks(str(path), quarantine, parse, block, columns)
            block = []
    if block:
        yield from records_to_chunks(str(path), quarantine, parse, block, columns)
