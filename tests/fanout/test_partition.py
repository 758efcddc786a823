"""Planning: byte ranges tile the file on line starts, row-group runs tile the Parquet file."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from copilot.fanout import plan_paths
from copilot.fanout.partition import BYTES, ROW_GROUPS, WHOLE, _row_group_runs
from tests.fanout.estates import SAMPLE, atc_sample


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("plan")
    out = {}
    for name, fmt in (("day.csv", "analytics-csv"), ("day.jsonl", "analytics-jsonl"),
                      ("day.parquet", "parquet"), ("day.array.json", "cloud-logging-array")):  # fmt: skip
        out[name] = root / name
        atc_sample(out[name], "--days", "1", "--seed", "2", "--rows", "20000", "--format", fmt)
    # Exports hold many row groups; rewrite this small one with 3,000-row groups.
    table = pq.read_table(out["day.parquet"])
    pq.write_table(table, out["day.parquet"], row_group_size=3000)
    return out


@pytest.mark.parametrize("name", ["day.csv", "day.jsonl"])
@pytest.mark.parametrize("wanted", [2, 5, 13])
def test_byte_ranges_tile_the_file_on_line_starts(files: dict, name: str, wanted: int) -> None:
    path = files[name]
    body = path.read_bytes()
    parts = plan_paths([path], wanted)
    assert len(parts) == wanted and {p.kind for p in parts} == {BYTES}
    assert parts[0].start == 0 and parts[-1].end == len(body)
    for before, after in zip(parts, parts[1:], strict=False):
        assert before.end == after.start and body[after.start - 1 : after.start] == b"\n"
    # A CSV range after the first is read with the header in front; JSON lines have none.
    assert [p.header for p in parts] == [name.endswith(".csv") and k > 0 for k in range(wanted)]


def test_whole_files_where_cutting_is_impossible(files: dict, tmp_path: Path) -> None:
    gz = tmp_path / "day.csv.gz"
    gz.write_bytes(gzip.compress(files["day.csv"].read_bytes()))
    for path in (gz, files["day.array.json"], SAMPLE):
        assert [p.kind for p in plan_paths([path], 8)] == [WHOLE]


def test_parquet_row_group_runs_cover_every_row(files: dict) -> None:
    path = files["day.parquet"]
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups >= 6
    parts = plan_paths([path], 4)
    assert len(parts) == 4 and {p.kind for p in parts} == {ROW_GROUPS}
    assert parts[0].start == 0 and parts[-1].end == meta.num_row_groups
    for before, after in zip(parts, parts[1:], strict=False):
        assert before.end == after.start
        rows_before = sum(meta.row_group(i).num_rows for i in range(after.start))
        assert after.first_row == rows_before + 1


@pytest.mark.parametrize(
    ("rows", "pieces", "runs"),
    [
        ([10, 10], 2, [(0, 1, 1), (1, 2, 11)]),
        ([10, 10, 10, 10], 2, [(0, 2, 1), (2, 4, 21)]),
        ([30, 1, 1, 1], 3, [(0, 1, 1), (1, 4, 31)]),
        ([5, 5, 5], 1, [(0, 3, 1)]),
        ([5, 5], 8, [(0, 1, 1), (1, 2, 6)]),
    ],
)
def test_row_group_runs(rows: list[int], pieces: int, runs: list[tuple[int, int, int]]) -> None:
    assert _row_group_runs(rows, pieces) == runs


def test_pieces_follow_file_sizes(files: dict, tmp_path: Path) -> None:
    small = tmp_path / "small.csv"
    lines = files["day.csv"].read_bytes().splitlines(keepends=True)
    small.write_bytes(b"".join(lines[:200]))  # under the split threshold: one partition
    parts = plan_paths([files["day.csv"], small], 6)
    assert [p.file_index for p in parts].count(1) == 1
    assert [p.file_index for p in parts].count(0) >= 5
    assert [p.id for p in parts] == sorted(p.id for p in parts)
