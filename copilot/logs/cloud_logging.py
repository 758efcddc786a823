"""Cloud Logging entries written by a MessageLogging policy.

The payload is the team's template: flat ``jsonPayload`` keys holding flow
variables as strings, or ``textPayload`` when the message is not JSON. The
entry's ``timestamp`` (RFC 3339) is the request time when the payload has
none of its own. Entries come one per line or as one JSON array (a console
export, ``gcloud logging read --format=json``), the array read element by element. docs/apigee.md, 'MessageLogging shapes'; Google's apigee-samples
``cloud-logging`` proxy; Google SecOps' gcp-apigee-x parser page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import pandas as pd

from copilot.logs.flowvars import flatten, flow_to_raw
from copilot.logs.json_array import iter_elements
from copilot.logs.lines import read_line_records, records_to_chunks
from copilot.logs.quarantine import NO_PAYLOAD, NOT_AN_OBJECT, Malformed, Quarantine
from copilot.logs.sources import open_binary, peek
from copilot.logs.templates import Template

ARRAY_BLOCK = 100_000


def parse_entry(entry: Any, template: Template) -> dict[str, Any]:
    """Raw canonical fields of one LogEntry; ValueError with the reason otherwise."""
    if not isinstance(entry, dict):
        raise Malformed(NOT_AN_OBJECT, "not a JSON object")
    payload = entry.get("jsonPayload")
    if payload is None and isinstance(entry.get("textPayload"), str):
        text = entry["textPayload"].strip()
        payload = json.loads(text) if text.startswith("{") else template.parse(text)
    if not isinstance(payload, dict):
        raise Malformed(NO_PAYLOAD, "no jsonPayload or textPayload")
    # The team's template names the keys ("apiProxy": "{apiproxy.name}"): map them back.
    return flow_to_raw(template.map_keys(flatten(payload)), entry.get("timestamp"))


def read_cloud_logging(
    path: Path,
    quarantine: Quarantine,
    *,
    columns: tuple[str, ...] | None = None,
    template: str | None = None,
    block_lines: int = 200_000,
) -> Iterator[pd.DataFrame]:
    """Yield canonical chunks from Cloud Logging entries (JSON lines or a JSON array)."""
    compiled = Template(template) if template else Template()

    def parse(text: str) -> dict[str, Any]:
        return parse_entry(json.loads(text), compiled)

    if peek(path, 4096).lstrip("\ufeff \t\r\n").startswith("["):
        yield from _read_array(path, quarantine, parse, columns)
    else:
        yield from read_line_records(
            path, quarantine, parse, columns=columns, block_lines=block_lines
        )


def _read_array(
    path: Path, quarantine: Quarantine, parse: Any, columns: tuple[str, ...] | None
) -> Iterator[pd.DataFrame]:
    # Streamed element by element (copilot.logs.json_array): gcloud's arrays can be huge.
    with open_binary(path) as fh:
        numbered = enumerate(iter_elements(fh, str(path)), 1)
        while block := [(n, text, text[:300]) for n, text in islice(numbered, ARRAY_BLOCK)]:
            yield from records_to_chunks(str(path), quarantine, parse, block, columns)
