"""Parquet and Avro analytics exports: the same records as CSV, streamed, bad rows quarantined."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from copilot.logs.avro import read_avro
from copilot.logs.parquet import read_parquet
from copilot.logs.quarantine import Quarantine
from copilot.logs.reader import ReadOptions, detect_format, read_logs
from copilot.logs.sample import generate_day, make_scenario
from copilot.logs.writers import write_records

N = 2_000


@pytest.fixture(scope="module")
def records() -> pa.Table:
    """2,000 analytics records of the incident day (every kind of outcome is there)."""
    table = generate_day(make_scenario(days=1, seed=3, rows=2_400), 0)
    assert table.num_rows >= N
    return table.slice(0, N)


@pytest.fixture(scope="module")
def files(records: pa.Table, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("columnar")
    out = {}
    for fmt, name in (("analytics-csv", "x.csv"), ("parquet", "x.parquet"), ("avro", "x.avro")):
        out[fmt] = root / name
        write_records(records, out[fmt], fmt, row_group_rows=300)
    return out


def test_csv_parquet_and_avro_read_to_identical_frames(files: dict[str, Path]) -> None:
    frames = {}
    for fmt, path in files.items():
        frame, q = read_logs([path])
        assert (q.records, q.rejected) == (N, 0), fmt
        frames[fmt] = frame
    pd.testing.assert_frame_equal(frames["parquet"], frames["analytics-csv"])
    pd.testing.assert_frame_equal(frames["avro"], frames["analytics-csv"])


def test_binary_exports_are_detected_by_magic_bytes_whatever_their_name(
    files: dict[str, Path], tmp_path: Path
) -> None:
    for fmt in ("parquet", "avro"):
        disguised = tmp_path / f"{fmt}-export.log"
        disguised.write_bytes(files[fmt].read_bytes())
        assert detect_format(disguised) == fmt
        assert detect_format(disguised, ReadOptions(fmt=fmt)) == fmt


def test_bigquery_timestamps_are_microsecond_timestamps_in_the_files(
    files: dict[str, Path],
) -> None:
    schema = pq.ParquetFile(files["parquet"]).schema_arrow
    assert schema.field("client_received_start_timestamp").type == pa.timestamp("us", tz="UTC")


def test_a_multi_row_group_parquet_file_streams_in_bounded_chunks(files: dict[str, Path]) -> None:
    assert pq.ParquetFile(files["parquet"]).num_row_groups == 7  # 2,000 rows by 300
    q = Quarantine()
    sizes = [len(c) for c in read_parquet(files["parquet"], q, batch_rows=300)]
    assert sum(sizes) == N and max(sizes) <= 300 and len(sizes) >= 7


def test_avro_streams_in_bounded_chunks(files: dict[str, Path]) -> None:
    q = Quarantine()
    sizes = [len(c) for c in read_avro(files["avro"], q, batch_rows=256)]
    assert sum(sizes) == N and max(sizes) <= 256 and len(sizes) == -(-N // 256)


def test_epoch_millisecond_times_read_like_timestamps(records: pa.Table, tmp_path: Path) -> None:
    as_ms = tmp_path / "ms.parquet"
    pq.write_table(records, as_ms)  # the records keep *_timestamp as int64 epoch ms
    as_ts = tmp_path / "ts.parquet"
    write_records(records, as_ts, "parquet")
    pd.testing.assert_frame_equal(read_logs([as_ms])[0], read_logs([as_ts])[0])


def _damaged(records: pa.Table) -> pa.Table:
    """Rows 3, 10 and 11 (1-based) damaged: a null time, a status out of range, no proxy."""
    rows = records.slice(0, 20).to_pylist()
    rows[2]["client_received_start_timestamp"] = None
    rows[9]["response_status_code"] = 999
    rows[10]["apiproxy"] = None
    return pa.Table.from_pylist(rows, schema=records.schema)


@pytest.mark.parametrize("fmt", ["parquet", "avro"])
def test_malformed_rows_are_counted_and_quarantined_with_their_row(
    fmt: str, records: pa.Table, tmp_path: Path
) -> None:
    path = tmp_path / f"bad.{fmt}"
    write_records(_damaged(records), path, fmt, row_group_rows=8)
    frame, q = read_logs([path])
    assert (q.records, q.rejected, q.lines_read) == (17, 3, 20)
    assert len(frame) == 17
    assert [(s.line, s.kind, s.detail) for s in q.samples] == [
        (3, "missing_field", "timestamp"),
        (10, "out_of_range", "status 999"),
        (11, "missing_field", "apiproxy"),
    ]
    assert q.samples[1].reason == "status 999 is out of range"
    assert q.kinds == {"missing_field": 2, "out_of_range": 1}
    assert "apiproxy=" in q.samples[1].text  # the row is shown as name=value pairs


def test_a_file_with_the_parquet_magic_but_no_valid_footer_is_a_format_error(
    tmp_path: Path,
) -> None:
    from copilot.errors import LogFormatError

    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 64)
    with pytest.raises(LogFormatError, match="not a readable Parquet file"):
        read_logs([path])
