"""Format auto-detection from the first bytes of a file (``--format`` forces one)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from copilot.errors import LogFormatError
from copilot.logs.fields import ANALYTICS_MARKERS
from copilot.logs.formats import (
    ANALYTICS_CSV,
    ANALYTICS_JSONL,
    AVRO,
    CLOUD_LOGGING,
    CLOUD_LOGGING_YAML,
    FORMATS,
    PARQUET,
    SYSLOG,
)
from copilot.logs.gcloud import looks_like_yaml_entries

# Binary exports, told apart by their first bytes (read with pyarrow / fastavro).
MAGIC = {b"PAR1": PARQUET, b"Obj\x01": AVRO}

_CLOUD_KEYS = {"jsonPayload", "textPayload", "logName", "insertId", "receiveTimestamp"}
_SYSLOG_HEAD = re.compile(
    r"^(<\d{1,3}>\d? ?"  # a syslog priority
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S* \S+ [^:\s]+: "  # rsyslog file format
    r"|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ [^:\s]+: )"  # rsyslog traditional
)
DELIMITERS = (",", "|", "\t")


def detect(path: Path, head: str, *, headerless: bool = False) -> str:
    """Name the format of a file from its first lines, or raise LogFormatError."""
    first = next((line for line in head.splitlines() if line.strip()), "")
    stripped = first.lstrip("\ufeff").lstrip()
    if stripped.startswith("["):
        return CLOUD_LOGGING
    if stripped.startswith("{"):
        return _json_kind(path, stripped)
    if _SYSLOG_HEAD.match(stripped) or " proxy=" in stripped:
        return SYSLOG
    if looks_like_yaml_entries(head):
        return CLOUD_LOGGING_YAML
    if headerless:
        return ANALYTICS_CSV
    header = {name.strip().strip('"').lower() for name in _split_header(stripped)}
    if all(marker in header for marker in ANALYTICS_MARKERS):
        return ANALYTICS_CSV
    raise LogFormatError(
        f"{path}: does not look like an Apigee log (no analytics header with "
        f"{', '.join(ANALYTICS_MARKERS)}; not Cloud Logging JSON; not syslog). "
        f"Use --format to force one of: {', '.join(FORMATS)}"
    )


def detect_binary(first_bytes: bytes) -> str | None:
    """``parquet`` or ``avro`` from a file's magic bytes, else None."""
    return next((fmt for magic, fmt in MAGIC.items() if first_bytes.startswith(magic)), None)


def sniff_delimiter(header_line: str) -> str:
    """The export delimiter (``,``, ``|`` or tab): the one the header line uses most."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _split_header(line: str) -> list[str]:
    return next(csv.reader([line], delimiter=sniff_delimiter(line)), [])


def _json_kind(path: Path, line: str) -> str:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        # The first line may be a malformed entry: decide on the keys it names.
        if any(f'"{k}"' in line for k in _CLOUD_KEYS):
            return CLOUD_LOGGING
        if all(f'"{m}"' in line for m in ANALYTICS_MARKERS[1:]):
            return ANALYTICS_JSONL
        raise LogFormatError(
            f"{path}: the first line is not valid JSON; use --format to force one"
        ) from None
    if isinstance(obj, dict) and _CLOUD_KEYS & obj.keys():
        return CLOUD_LOGGING
    if isinstance(obj, dict) and any(m in obj for m in ANALYTICS_MARKERS):
        return ANALYTICS_JSONL
    raise LogFormatError(
        f"{path}: JSON lines, but neither Apigee analytics records nor Cloud Logging entries; "
        f"use --format to force one of: {', '.join(FORMATS)}"
    )
