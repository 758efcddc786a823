"""Pieces: a partition read as checkpointed pieces gives the partition's own result.

Each case cuts real ``atc sample`` files (CSV with and without its header line,
JSON lines, Parquet row groups) into partitions, cuts every partition again into
pieces, reads every piece on its own and merges them all: the result is the one
pass's, byte for byte, and the pieces tile their partition.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from copilot.fanout import merge_files, plan_paths, run_partition
from copilot.fanout.partition import BYTES, ROW_GROUPS, WHOLE, Partition
from copilot.fanout.pieces import split_pieces
from copilot.logs.reader import ReadOptions
from copilot.pipeline import analyze_paths
from tests.fanout.estates import atc_sample, canonical

FORMATS = {"day.csv": "analytics-csv", "day.jsonl": "analytics-jsonl", "day.parquet": "parquet"}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pieces")
    out = {}
    for name, fmt in FORMATS.items():
        out[name] = root / name
        atc_sample(out[name], "--days", "1", "--seed", "5", "--rows", "6000", "--format", fmt)
    pq.write_table(pq.read_table(out["day.parquet"]), out["day.parquet"], row_group_size=1000)
    lines = out["day.csv"].read_bytes().splitlines(keepends=True)
    out["headerless.csv"] = root / "headerless.csv"
    out["headerless.csv"].write_bytes(b"".join(lines[1:]))
    out["header"] = root / "header.txt"
    out["header"].write_bytes(lines[0].rstrip(b"\r\n"))
    return out


def _options(files: dict[str, Path], name: str) -> ReadOptions:
    if name != "headerless.csv":
        return ReadOptions()
    columns = tuple(c.strip('"') for c in files["header"].read_text().split(","))
    return ReadOptions(fmt="analytics-csv", csv_columns=columns)


def _pieces_of(path: Path, partitions: int, options: ReadOptions, size: int) -> list[Partition]:
    headerless = options.csv_columns is not None
    parts = plan_paths([path], partitions, options)
    return [piece for p in parts for piece in split_pieces(p, size, headerless=headerless)]


@pytest.mark.parametrize("name", ["day.csv", "headerless.csv", "day.jsonl", "day.parquet"])
@pytest.mark.parametrize("partitions", [1, 3])
def test_pieces_read_one_by_one_merge_to_the_one_pass(
    files: dict[str, Path], name: str, partitions: int, tmp_path: Path
) -> None:
    path, options = files[name], _options(files, name)
    pieces = _pieces_of(path, partitions, options, path.stat().st_size // 7)
    assert len(pieces) >= 5  # really cut, inside every partition
    done = [run_partition(p, tmp_path, options) for p in pieces]
    merged = merge_files([d.partial for d in done], [str(path)])
    assert canonical(merged) == canonical(analyze_paths([path], options))


@pytest.mark.parametrize("name", ["day.csv", "day.jsonl"])
def test_byte_pieces_tile_their_partition_on_line_starts(files: dict[str, Path], name: str) -> None:
    path = files[name]
    body = path.read_bytes()
    for part in plan_paths([path], 3):
        pieces = split_pieces(part, len(body) // 10)
        assert {p.kind for p in pieces} == {BYTES} and len(pieces) > 1
        assert pieces[0].start == part.start and pieces[-1].end == part.end
        for before, after in zip(pieces, pieces[1:], strict=False):
            assert before.end == after.start and body[after.start - 1 : after.start] == b"\n"
        # The header goes in front of every piece but one that holds it already.
        csv = name.endswith(".csv")
        assert [p.header for p in pieces] == [part.header] + [csv] * (len(pieces) - 1)
        assert len({p.id for p in pieces}) == len(pieces)


def test_parquet_pieces_are_row_groups_numbered_from_the_partition(files: dict[str, Path]) -> None:
    path = files["day.parquet"]
    meta = pq.ParquetFile(path).metadata
    (whole,) = plan_paths([path], 1)
    pieces = split_pieces(whole, 1)
    assert [(p.kind, p.start, p.end) for p in pieces] == [
        (ROW_GROUPS, g, g + 1) for g in range(meta.num_row_groups)
    ]
    firsts = [1 + sum(meta.row_group(i).num_rows for i in range(g)) for g in range(len(pieces))]
    assert [p.first_row for p in pieces] == firsts


def test_what_cannot_be_cut_is_one_piece(files: dict[str, Path], tmp_path: Path) -> None:
    gz = tmp_path / "day.csv.gz"
    gz.write_bytes(gzip.compress(files["day.csv"].read_bytes()))
    (part,) = plan_paths([gz], 4)
    assert part.kind == WHOLE and split_pieces(part, 1000) == [part]
    (small,) = plan_paths([files["day.jsonl"]], 1)
    assert split_pieces(small, small.size) == [small]  # no bigger than a piece
    assert split_pieces(small, 0) == [small]  # pieces off
