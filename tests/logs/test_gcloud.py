"""`gcloud logging read --format=json|yaml` exports read to the same records as JSON lines."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from copilot.logs.gcloud import iter_documents
from copilot.logs.reader import detect_format, read_logs
from tests.paths import LOGS


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("gcloud_read.json", "cloud-logging"), ("gcloud_read.yaml", "cloud-logging-yaml")],
)
def test_gcloud_exports_read_to_the_same_records_as_json_lines(name: str, fmt: str) -> None:
    assert detect_format(LOGS / name) == fmt
    expected, q_lines = read_logs([LOGS / "gcloud_entries.jsonl"])
    frame, q = read_logs([LOGS / name])
    pd.testing.assert_frame_equal(frame, expected)
    # the Cloud Audit entry (protoPayload) is not an Apigee message, in every shape
    assert (q.records, q.rejected) == (q_lines.records, q_lines.rejected) == (4, 1)
    assert q.samples[0].reason == "malformed: no jsonPayload or textPayload"
    assert (q.samples[0].kind, q.kinds) == ("no_payload", {"no_payload": 1})


def test_gcloud_nanosecond_timestamps_are_read_to_the_millisecond() -> None:
    frame, _ = read_logs([LOGS / "gcloud_read.yaml"])
    catalog = frame[frame["proxy"] == "catalog"].iloc[0]  # its time is the LogEntry timestamp
    assert catalog["ts"] == pd.Timestamp("2025-11-16T10:00:01.500Z")


def test_yaml_rejects_are_named_by_the_line_their_document_starts_on(tmp_path: Path) -> None:
    text = (LOGS / "gcloud_read.yaml").read_text()
    broken = text + "---\ninsertId: x\njsonPayload: {apiproxy.name: [unclosed\n"
    path = tmp_path / "entries.yaml"
    path.write_text(broken)
    _, q = read_logs([path])
    starts = [start for start, _ in iter_documents(path)]
    assert q.rejected == 2 and q.samples[-1].line == starts[-1]
    assert q.samples[-1].reason.startswith("malformed: not YAML")
    assert q.samples[-1].kind == "bad_yaml"


def test_unquoted_yaml_times_are_read_as_the_same_instant(tmp_path: Path) -> None:
    # YAML turns an unquoted RFC 3339 value into a datetime; the reader gives it back as text.
    path = tmp_path / "entries.yaml"
    path.write_text(
        "insertId: a1\nlogName: projects/p/logs/apigee\ntimestamp: 2025-11-16T10:00:02.250Z\n"
        "jsonPayload:\n  apiproxy.name: orders\n  response.status.code: '200'\n"
    )
    frame, q = read_logs([path])
    assert q.records == 1
    assert frame.iloc[0]["ts"] == pd.Timestamp("2025-11-16T10:00:02.250Z")
    assert frame.iloc[0]["status"] == 200 and pd.isna(frame.iloc[0]["path"])
