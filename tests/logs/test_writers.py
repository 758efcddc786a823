"""Writers: each log shape round-trips at the level of its own format."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from copilot.errors import UsageError
from copilot.logs.fields import DEFAULT_SYSLOG_TEMPLATE, TIMESTAMP_VARIABLES
from copilot.logs.sample import EXPORT_COLUMNS, generate_day, make_scenario, to_frame
from copilot.logs.schema import NOT_SET
from copilot.logs.writers import FORMATS, write_records
from copilot.logs.writers_text import json_string

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
RFC3339_NS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
SYSLOG_HEADER = re.compile(
    r"^<14>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000) (apigee-mp-[0-9a-f]+) apigee - - - (.*)$"
)


@pytest.fixture(scope="module")
def records() -> pa.Table:
    """One day (the incident day, so every kind of record is there), 6,000 requests."""
    scenario = make_scenario(days=1, seed=5, rows=6_000)
    return generate_day(scenario, 0)


def _template_regex(template: str) -> tuple[re.Pattern[str], list[str]]:
    names = re.findall(r"\{([^}]+)\}", template)
    pattern = re.escape(template)
    for name in names:
        pattern = pattern.replace(re.escape("{" + name + "}"), '([^"]*)', 1)
    return re.compile("^" + pattern + "$"), names


def _rows(table: pa.Table) -> list[dict[str, object]]:
    return table.to_pylist()


def test_formats_are_the_cli_contract() -> None:
    assert {"analytics-csv", "analytics-jsonl", "cloud-logging", "syslog"} <= set(FORMATS)


@pytest.mark.parametrize("name", ["out.csv", "out.csv.gz"])
def test_csv_round_trips(records: pa.Table, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    assert write_records(records, path) == records.num_rows
    text = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    assert text.split(b"\n", 1)[0].decode().replace('"', "").split(",") == list(EXPORT_COLUMNS)
    # nulls are empty cells; empty strings (the base path's suffix) are quoted ""
    options = pcsv.ConvertOptions(
        column_types=records.schema, strings_can_be_null=True, quoted_strings_can_be_null=False
    )
    back = pcsv.read_csv(path, convert_options=options)
    assert back.equals(records)


def test_gzip_output_is_stable(records: pa.Table, tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv.gz", tmp_path / "b.csv.gz"
    write_records(records, first)
    write_records([records.slice(0, 1000), records.slice(1000)], second)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes()[4:8] == b"\0\0\0\0"  # mtime 0


def test_jsonl_lines_parse_with_numbers_and_nulls(records: pa.Table, tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    write_records(records, path, "analytics-jsonl")
    lines = path.read_text().splitlines()
    assert len(lines) == records.num_rows
    parsed = [json.loads(line) for line in lines]
    assert parsed == _rows(records)
    assert all(isinstance(p["response_status_code"], int) for p in parsed)
    assert any(p["target_response_code"] is None for p in parsed)


@pytest.mark.slow  # writes every format twice
def test_frames_and_tables_write_the_same_bytes(records: pa.Table, tmp_path: Path) -> None:
    for fmt in FORMATS:
        a, b = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
        write_records(records, a, fmt)
        write_records(to_frame(records), b, fmt)
        assert a.read_bytes() == b.read_bytes(), fmt


def _entries(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_cloud_logging_entries(records: pa.Table, tmp_path: Path) -> None:
    path = tmp_path / "entries.jsonl"
    write_records(records, path, "cloud-logging")
    entries = _entries(path)
    assert len(entries) == records.num_rows
    for entry, row in zip(entries, _rows(records), strict=True):
        assert set(entry) == {
            "insertId",
            "jsonPayload",
            "logName",
            "receiveTimestamp",
            "resource",
            "severity",
            "timestamp",
        }
        assert entry["logName"] == "projects/shopco-apigee-prod/logs/apigee"
        assert entry["resource"]["type"] == "api"
        assert set(entry["resource"]["labels"]) == {
            "project_id",
            "version",
            "location",
            "method",
            "service",
        }
        assert RFC3339_MS.match(entry["timestamp"]) and RFC3339_NS.match(entry["receiveTimestamp"])
        payload = entry["jsonPayload"]
        assert all(isinstance(v, str) for v in payload.values())
        assert set(TIMESTAMP_VARIABLES) <= set(payload)
        assert payload["response.status.code"] == str(row["response_status_code"])
        assert payload["client.received.start.timestamp"] == str(
            row["client_received_start_timestamp"]
        )
        if row["target_response_time"] is not None:
            took = int(payload["target.received.end.timestamp"]) - int(
                payload["target.sent.start.timestamp"]
            )
            assert took == row["target_response_time"]
        else:
            assert (
                payload["target.sent.start.timestamp"]
                == payload["target.response.status.code"]
                == ""
            )
        if row["developer_app"] == NOT_SET:
            assert payload["developer.app.name"] == ""  # an unset flow variable, not "(not set)"
        status = row["response_status_code"]
        assert entry["severity"] == (
            "ERROR" if status >= 500 else "WARNING" if status >= 400 else "INFO"
        )
    faults = {e["jsonPayload"]["fault.name"] for e in entries}
    assert {"SpikeArrestViolation", ""} <= faults


def test_cloud_logging_array_holds_the_same_entries(records: pa.Table, tmp_path: Path) -> None:
    lines, array = tmp_path / "entries.jsonl", tmp_path / "entries.json"
    chunks = [records.slice(0, 2500), records.slice(2500)]
    write_records(records, lines, "cloud-logging")
    assert write_records(chunks, array, "cloud-logging-array") == records.num_rows
    assert json.loads(array.read_text()) == _entries(lines)


def test_text_payload_share(records: pa.Table, tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    write_records(records, path, "cloud-logging", text_share=0.3)
    entries = _entries(path)
    text = [e for e in entries if "textPayload" in e]
    assert 0.2 < len(text) / len(entries) < 0.4
    regex, _ = _template_regex(DEFAULT_SYSLOG_TEMPLATE)
    assert all(regex.match(e["textPayload"]) for e in text)
    write_records(records, path, "cloud-logging")
    assert not any("textPayload" in e for e in _entries(path))


def test_syslog_lines_follow_the_template(records: pa.Table, tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    write_records(records, path, "syslog")
    lines = path.read_text().splitlines()
    assert len(lines) == records.num_rows
    regex, names = _template_regex(DEFAULT_SYSLOG_TEMPLATE)
    for line, row in zip(lines, _rows(records), strict=True):
        header = SYSLOG_HEADER.match(line)
        assert header, line
        values = dict(zip(names, regex.match(header.group(3)).groups(), strict=True))
        assert values["client.received.start.timestamp"] == str(
            row["client_received_start_timestamp"]
        )
        assert values["response.status.code"] == str(row["response_status_code"])
        assert values["request.path"] == row["request_path"]
        assert values["target.response.status.code"] == str(row["target_response_code"] or "")


def test_custom_template_renders_unknown_variables_empty(records: pa.Table, tmp_path: Path) -> None:
    path = tmp_path / "custom.log"
    write_records(
        records.slice(0, 5), path, "syslog", template="{apiproxy.name}|{no.such.var}|{request.verb}"
    )
    for line in path.read_text().splitlines():
        message = line.split(" - - - ", 1)[1]
        proxy, empty, verb = message.split("|")
        assert proxy and empty == "" and verb in {"GET", "POST", "PATCH"}


def test_empty_records(records: pa.Table, tmp_path: Path) -> None:
    empty = records.slice(0, 0)
    assert write_records(empty, tmp_path / "e.csv") == 0
    assert (tmp_path / "e.csv").read_text().strip().replace('"', "").split(",") == list(
        EXPORT_COLUMNS
    )
    assert write_records(empty, tmp_path / "e.json", "cloud-logging-array") == 0
    assert json.loads((tmp_path / "e.json").read_text()) == []
    assert write_records([], tmp_path / "e.log", "syslog") == 0


def test_json_string_escapes_like_json() -> None:
    values = pa.array(["plain", 'quote " here', "back\\slash", "tab\tnew\nline", "naïve ✓", None])
    rendered = json_string(values).to_pylist()
    assert [json.loads(r) for r in rendered] == values.to_pylist()


def test_bad_arguments(records: pa.Table, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        write_records(records, tmp_path / "x.txt", "apache")
    with pytest.raises(UsageError):
        write_records(records, tmp_path / "missing" / "x.csv")
    with pytest.raises(UsageError):
        write_records(records, tmp_path / "x.jsonl", "cloud-logging", text_share=2.0)
    with pytest.raises(UsageError):
        write_records("not records", tmp_path / "x.csv")  # type: ignore[arg-type]
