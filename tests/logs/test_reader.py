"""Every format parses from fixtures with Apigee's field names; bad lines are quarantined."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from copilot.errors import LogFormatError, UsageError
from copilot.logs import schema
from copilot.logs.quarantine import Quarantine
from copilot.logs.reader import ReadOptions, detect_format, iter_chunks, read_logs
from tests.paths import LOGS


def data_lines(path: Path, header: bool) -> int:
    """Lines a reader must account for: non-blank lines, minus a CSV header."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        count = sum(1 for line in fh if line.strip())
    return count - (1 if header else 0)


# name, format, records, rejected, rejected line numbers
CASES = [
    ("analytics_export.csv", "analytics-csv", 7, 3, [7, 8, 10]),
    ("analytics_export_bq.csv.gz", "analytics-csv", 7, 0, []),
    ("analytics_export.jsonl", "analytics-jsonl", 7, 2, [3, 5]),
    ("cloud_logging.jsonl", "cloud-logging", 4, 2, [3, 4]),
    ("syslog.log", "syslog", 4, 2, [3, 6]),
]


@pytest.mark.parametrize(("name", "fmt", "records", "rejected", "lines"), CASES)
def test_each_format_is_detected_and_every_line_is_accounted_for(
    name: str, fmt: str, records: int, rejected: int, lines: list[int]
) -> None:
    path = LOGS / name
    assert detect_format(path) == fmt
    frame, q = read_logs([path])
    assert (q.records, q.rejected) == (records, rejected)
    assert len(frame) == q.records
    assert q.records + q.rejected == q.lines_read == data_lines(path, fmt == "analytics-csv")
    assert [s.line for s in q.samples] == lines
    assert all(s.reason for s in q.samples)


@pytest.mark.parametrize("name", [c[0] for c in CASES] + ["cloud_logging_array.json"])
def test_records_have_exactly_the_canonical_columns_and_dtypes(name: str) -> None:
    frame, _ = read_logs([LOGS / name])
    assert tuple(frame.columns) == schema.NAMES
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        c: str(pd.Series([], dtype=t).dtype) for c, t in schema.DTYPES.items()
    }


def test_analytics_csv_fields_map_to_canonical_values() -> None:
    frame, _ = read_logs([LOGS / "analytics_export.csv"])
    first = frame.iloc[0]
    assert first["ts"] == pd.Timestamp("2025-11-16T10:00:00.123Z")
    assert (first["proxy"], first["app"], first["verb"]) == ("orders", "web-storefront", "GET")
    assert first["path"] == "/v1/orders/8412"  # request_path, no query string
    assert (first["status"], first["target_status"], first["total_ms"]) == (200, 200, 87.0)
    throttled = frame[frame["status"] == 429].iloc[0]
    assert throttled["fault_code"] == schema.SPIKE_ARREST_FAULT
    assert pd.isna(throttled["target_status"]) and pd.isna(throttled["target_ms"])
    assert throttled["app"] == schema.NOT_SET


def test_three_timestamp_encodings_give_the_same_instants() -> None:
    csv_ts = read_logs([LOGS / "analytics_export.csv"])[0]["ts"]  # epoch ms
    bq_ts = read_logs([LOGS / "analytics_export_bq.csv.gz"])[0]["ts"]  # "... UTC"
    jsonl_ts = read_logs([LOGS / "analytics_export.jsonl"])[0]["ts"]  # ISO-8601 Z
    assert list(csv_ts) == list(bq_ts) == list(jsonl_ts)


def test_cloud_logging_array_export_matches_line_export() -> None:
    lines, _ = read_logs([LOGS / "cloud_logging.jsonl"])
    array, q = read_logs([LOGS / "cloud_logging_array.json"])
    pd.testing.assert_frame_equal(lines, array)
    assert q.rejected == 1  # the audit-log entry is not an Apigee message


def test_cloud_logging_derives_latency_from_flow_timestamps_and_expands_short_fault_names() -> None:
    frame, _ = read_logs([LOGS / "cloud_logging.jsonl"])
    assert frame.iloc[0]["total_ms"] == 87.0 and frame.iloc[0]["target_ms"] == 74.0
    google_sample = frame[frame["proxy"] == "catalog"].iloc[0]  # apigee-samples key names
    assert google_sample["status"] == 429
    assert google_sample["fault_code"] == schema.SPIKE_ARREST_FAULT
    assert google_sample["ts"] == pd.Timestamp("2025-11-16T10:00:01.500Z")  # the entry's timestamp


def test_syslog_accepts_rfc5424_rfc3164_and_bare_messages() -> None:
    frame, _ = read_logs([LOGS / "syslog.log"])
    assert list(frame["status"]) == [200, 429, 404, 201]
    assert frame.iloc[0]["useragent"] == "Mozilla/5.0 (X11; Linux x86_64)"


def test_a_custom_syslog_template_is_used_when_given(tmp_path: Path) -> None:
    log = tmp_path / "custom.log"
    log.write_text(
        "<14>1 2025-11-16T10:00:00.000Z mp apigee - - - orders GET /v1/orders/1 200 [web]\n"
        "<14>1 2025-11-16T10:00:01.000Z mp apigee - - - orders GET\n"
    )
    template = "{apiproxy.name} {request.verb} {request.path} {response.status.code} [{developer.app.name}]"
    frame, q = read_logs([log], ReadOptions(fmt="syslog", template=template))
    assert (q.records, q.rejected) == (1, 1)
    assert frame.iloc[0]["ts"] == pd.Timestamp("2025-11-16T10:00:00Z")  # from the RFC 5424 header
    assert frame.iloc[0]["app"] == "web"


def test_headerless_csv_is_read_when_the_column_list_is_given(tmp_path: Path) -> None:
    log = tmp_path / "export.csv"
    log.write_text(
        "1763287200123\torders\tGET\t/v1/orders/1\t200\n1763287200999\torders\tPOST\t/v1/orders\t201\n"
    )
    cols = (
        "client_received_start_timestamp",
        "apiproxy",
        "request_verb",
        "request_path",
        "response_status_code",
    )
    frame, q = read_logs([log], ReadOptions(csv_columns=cols))
    assert q.records == 2 and list(frame["status"]) == [200, 201]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.csv", "is empty"),
        ("not_a_log.bin", "looks binary"),
        ("notes.txt", "does not look like an Apigee log"),
    ],
)
def test_files_that_are_not_logs_raise_one_clear_error(name: str, message: str) -> None:
    with pytest.raises(LogFormatError, match=message):
        read_logs([LOGS / name])


def test_a_forced_format_that_reads_nothing_is_an_error_not_an_empty_result() -> None:
    with pytest.raises(LogFormatError, match="not one of 6 lines could be read as syslog"):
        read_logs([LOGS / "cloud_logging.jsonl"], ReadOptions(fmt="syslog"))


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        ReadOptions(fmt="xml")


def test_missing_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(LogFormatError, match="no such file"):
        read_logs([tmp_path / "nope.csv"])


def test_column_subset_reads_only_those_columns() -> None:
    cols = ("ts", "proxy", "status")
    chunks = list(
        iter_chunks([LOGS / "analytics_export.csv"], Quarantine(), ReadOptions(columns=cols))
    )
    assert [tuple(c.columns) for c in chunks] == [cols]


def test_quarantine_file_keeps_every_rejected_line(tmp_path: Path) -> None:
    q = Quarantine(path=tmp_path / "q.jsonl")
    read_logs([LOGS / "analytics_export.csv", LOGS / "syslog.log"], quarantine=q)
    kept = (tmp_path / "q.jsonl").read_text().splitlines()
    assert len(kept) == q.rejected == 5


def test_large_csv_streams_in_several_chunks_without_losing_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from copilot.logs import analytics

    monkeypatch.setattr(analytics, "CSV_BLOCK_BYTES", 4096)
    monkeypatch.setattr(analytics, "CHUNK_ROWS", 100)
    src = (LOGS / "analytics_export.csv").read_text().splitlines()
    header, body = src[0], src[1:]
    path = tmp_path / "big.csv"
    path.write_text("\n".join([header] + body * 200) + "\n")
    q = Quarantine()
    chunks = list(iter_chunks([path], q))
    assert len(chunks) > 3
    assert sum(len(c) for c in chunks) == q.records == 7 * 200
    assert q.rejected == 3 * 200 and q.lines_read == len(body) * 200
    assert all(s.line is not None for s in q.samples)


def test_crlf_line_endings_and_a_byte_order_mark_change_nothing(tmp_path: Path) -> None:
    src = (LOGS / "analytics_export.csv").read_text()
    path = tmp_path / "windows.csv"
    path.write_bytes(("\ufeff" + src).replace("\n", "\r\n").encode("utf-8"))
    frame, q = read_logs([path])
    expected, _ = read_logs([LOGS / "analytics_export.csv"])
    pd.testing.assert_frame_equal(frame, expected)
    assert [s.line for s in q.samples] == [7, 8, 10]
