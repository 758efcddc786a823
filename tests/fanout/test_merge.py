"""Partitioned analysis equals the single pass, byte for byte, however the input is cut.

Estates come from ``atc sample`` (and the bundled sample, decompressed), in
every line-oriented format and Parquet; cuts are asked for by count (2, 7 and
16 partitions), placed at random offsets (several seeds), and placed
deliberately inside the incident's peak, inside an abusive client's burst
and inside a Quota hour, each proved to fall between two requests of the
same minute before the results are compared.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from copilot.errors import LogFormatError
from copilot.fanout import analyze_partitioned, merge_files, plan_paths, run_partition
from copilot.fanout.partition import BYTES, Partition, next_line_start
from copilot.pipeline import analyze_paths
from tests.fanout.estates import (
    atc_sample,
    canonical,
    cut_inside,
    line_at,
    line_before,
    line_ms,
    plain_sample,
    ranges,
    two_day_estate,
)

pytestmark = pytest.mark.slow  # analyses whole estates once per partition count

FORMATS = {
    "csv": "analytics-csv",
    "jsonl": "analytics-jsonl",
    "log": "syslog",
    "json": "cloud-logging",
    "parquet": "parquet",
}


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("estate")
    files, scenario = two_day_estate(root, FORMATS)
    files["sample"] = plain_sample(root / "sample.csv")
    return {"files": files, "scenario": scenario, "root": root}


def _cut(files: list[Path], parts: list[Partition], tmp: Path) -> str:
    done = [run_partition(p, tmp / "run") for p in parts]
    return canonical(merge_files([d.partial for d in done], [str(f) for f in files]))


@pytest.mark.parametrize(
    ("name", "partitions"),
    [(name, n) for name in ("sample", *FORMATS) for n in (2, 7)] + [("csv", 16), ("sample", 16)],
)
def test_partitioned_equals_one_pass(
    estate: dict, name: str, partitions: int, tmp_path: Path
) -> None:
    path = estate["files"][name]
    expected = canonical(analyze_paths([path]))
    parts = plan_paths([path], partitions)
    assert len(parts) > 1  # the file really was cut
    assert canonical(analyze_partitioned([path], partitions, tmp_path)) == expected


def test_cuts_inside_the_incident_a_burst_and_a_quota_hour(estate: dict, tmp_path: Path) -> None:
    path, truth = estate["files"]["csv"], estate["scenario"]
    peak = truth["incident"]["peak"]
    burst = truth["abusive"]["windows"][0]
    cuts = [cut_inside(path, peak["start"], peak["end"]),
            cut_inside(path, burst["start"], burst["end"])]  # fmt: skip
    for cut in cuts:  # the requests either side of the cut share their minute (and hour)
        assert line_ms(line_at(path, cut)) // 60_000 == line_ms(line_before(path, cut)) // 60_000
    expected = canonical(analyze_paths([path]))
    assert _cut([path], ranges(path, cuts), tmp_path) == expected


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_cuts_equal_one_pass(estate: dict, seed: int, tmp_path: Path) -> None:
    path = estate["files"]["csv"]
    size = path.stat().st_size
    rng = random.Random(seed)
    header_end = next_line_start(path, 0, size)
    cuts = {
        next_line_start(path, rng.randrange(header_end, size), size)
        for _ in range(rng.randint(2, 12))
    }
    cuts = [c for c in cuts if header_end < c < size]
    assert _cut([path], ranges(path, cuts), tmp_path) == canonical(analyze_paths([path]))


def test_an_estate_of_several_files_in_any_partition_count(tmp_path: Path) -> None:
    days = []
    for day in ("2026-11-16", "2026-11-17", "2026-11-18"):
        out = tmp_path / f"{day}.csv"
        atc_sample(out, "--days", "1", "--seed", "5", "--rows", "12000", "--start", day)
        days.append(out)
    expected = canonical(analyze_paths(days))
    for partitions in (1, 2, 3, 5, 9):
        assert (
            canonical(analyze_partitioned(days, partitions, tmp_path / str(partitions))) == expected
        )


def _with_bad_lines(src: Path, dst: Path, bad: list[bytes], seed: int) -> Path:
    rng = random.Random(seed)
    out = []
    for k, line in enumerate(src.read_bytes().split(b"\n")):
        out.append(line)
        if k and rng.random() < 0.002:
            out.append(rng.choice(bad))
    dst.write_bytes(b"\n".join(out))
    return dst


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("jsonl", [b"{not json", b"", b"[1, 2]", b"\xff\xfe not utf-8"]),
        ("log", [b"garbage", b"", b"\xff\xfe not utf-8"]),
    ],
)
def test_rejected_lines_keep_their_numbers_and_order(
    estate: dict, name: str, bad: list[bytes], tmp_path: Path
) -> None:
    path = _with_bad_lines(estate["files"][name], tmp_path / f"bad.{name}", bad, seed=4)
    rejects = tmp_path / "rejects.jsonl"
    single = analyze_paths([path], quarantine_path=rejects)
    assert single.quarantine.rejected > 20  # more than the samples kept
    lines = rejects.read_text()
    rejects.unlink()
    merged = analyze_partitioned([path], 5, tmp_path / "run", quarantine_path=rejects)
    assert canonical(merged) == canonical(single)
    assert rejects.read_text() == lines


def test_csv_rows_with_bad_values_keep_their_line_numbers(estate: dict, tmp_path: Path) -> None:
    src = estate["files"]["csv"].read_bytes().split(b"\n")
    rng = random.Random(9)
    lines = [b"notatime" + line[line.index(b","):] if k and line and rng.random() < 0.002 else line
             for k, line in enumerate(src)]  # fmt: skip
    path = tmp_path / "bad.csv"
    path.write_bytes(b"\n".join(lines))
    single = analyze_paths([path])
    assert single.quarantine.rejected > 20
    assert canonical(analyze_partitioned([path], 6, tmp_path / "run")) == canonical(single)


def test_a_file_with_no_record_fails_as_in_one_pass(estate: dict, tmp_path: Path) -> None:
    junk = tmp_path / "junk.jsonl"
    junk.write_text("\n".join(['{"a": 1}'] * 3 + ["{broken"] * 2) + "\n")
    good = estate["files"]["jsonl"]
    with pytest.raises(LogFormatError) as one:
        analyze_paths([good, junk])
    with pytest.raises(LogFormatError) as many:
        analyze_partitioned([good, junk], 4, tmp_path / "run")
    assert str(many.value) == str(one.value)


def test_a_range_of_blank_lines_counts_its_lines(estate: dict, tmp_path: Path) -> None:
    lines = estate["files"]["jsonl"].read_bytes().splitlines(keepends=True)
    head, tail = b"".join(lines[:3000]), b"".join(lines[3000:6000])
    path = tmp_path / "gappy.jsonl"
    path.write_bytes(head + b"\n" * 5000 + tail + b"{broken\n")
    size = path.stat().st_size
    edges = [0, len(head), len(head) + 5000, size]  # the middle range is all blank lines
    parts = [
        Partition(f"0000-{k:04d}", str(path), "analytics-jsonl", BYTES, a, b, 1, False, 0, size)
        for k, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True))
    ]
    single = analyze_paths([path])
    assert [s.line for s in single.quarantine.samples] == [3000 + 5000 + 3000 + 1]
    assert _cut([path], parts, tmp_path) == canonical(single)
