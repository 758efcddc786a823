"""``atc suggest`` by partitions equals the single pass, byte for byte, however the input is cut.

The partitions collect their requests beside their analysis partials
(``copilot.fanout.requests``); both merge, and the advice is built once from
the merged analysis and requests (``copilot.fanout.local.suggest_files``).
Estates come from ``atc sample`` in several formats and as several daily
files; cuts are asked for by count and placed inside the incident's peak and
inside an abusive client's burst (between two requests of one minute).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from copilot.fanout import plan_paths, run_partition
from copilot.fanout.local import suggest_files, suggest_partitioned
from copilot.fanout.partition import next_line_start
from copilot.throttling.options import DEFAULT_HEADROOM
from copilot.throttling.run import collected_attrs, suggest_paths
from tests.fanout.estates import (
    atc_sample,
    canonical,
    cut_inside,
    line_at,
    line_before,
    line_ms,
    two_day_estate,
)
from tests.fanout.estates import ranges as byte_ranges

pytestmark = pytest.mark.slow  # advises on whole estates once per partition count

FORMATS = {"csv": "analytics-csv", "jsonl": "analytics-jsonl", "parquet": "parquet"}


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("estate")
    files, scenario = two_day_estate(root, FORMATS)
    return {"files": files, "scenario": scenario}


def _one_pass(paths: list[Path], headroom: float = DEFAULT_HEADROOM) -> str:
    return canonical(suggest_paths(paths, headroom=headroom).to_dict())


@pytest.mark.parametrize(("name", "partitions"), [(n, k) for n in FORMATS for k in (2, 7)])
def test_partitioned_suggest_equals_one_pass(
    estate: dict, name: str, partitions: int, tmp_path: Path
) -> None:
    path = estate["files"][name]
    assert len(plan_paths([path], partitions)) > 1  # the file really was cut
    got = suggest_partitioned([path], partitions, tmp_path)
    assert got.report.suggestions  # there is advice to compare
    assert canonical(got.to_dict()) == _one_pass([path])


def _suggest_cut(path: Path, cuts: list[int], tmp: Path) -> str:
    done = [run_partition(p, tmp, collect=collected_attrs()) for p in byte_ranges(path, cuts)]
    return canonical(suggest_files(done, [str(path)]).to_dict())


def test_cuts_inside_the_incident_and_a_burst(estate: dict, tmp_path: Path) -> None:
    path, truth = estate["files"]["csv"], estate["scenario"]
    peak, burst = truth["incident"]["peak"], truth["abusive"]["windows"][0]
    cuts = [cut_inside(path, peak["start"], peak["end"]),
            cut_inside(path, burst["start"], burst["end"])]  # fmt: skip
    for cut in cuts:  # the requests either side of each cut share their minute
        assert line_ms(line_at(path, cut)) // 60_000 == line_ms(line_before(path, cut)) // 60_000
    assert _suggest_cut(path, cuts, tmp_path) == _one_pass([path])


@pytest.mark.parametrize("seed", [1, 2])
def test_random_cuts_and_another_headroom(estate: dict, seed: int, tmp_path: Path) -> None:
    path = estate["files"]["csv"]
    size = path.stat().st_size
    rng = random.Random(seed)
    start = next_line_start(path, 0, size)
    cuts = {next_line_start(path, rng.randrange(start, size), size) for _ in range(9)}
    cuts = [c for c in cuts if start < c < size]
    parts = byte_ranges(path, cuts)
    done = [run_partition(p, tmp_path, collect=collected_attrs()) for p in parts]
    got = suggest_files(done, [str(path)], headroom=2.0)
    assert canonical(got.to_dict()) == _one_pass([path], headroom=2.0)


def test_several_daily_files_in_any_partition_count(tmp_path: Path) -> None:
    days = []
    for day in ("2026-11-16", "2026-11-17", "2026-11-18"):
        days.append(tmp_path / f"{day}.csv")
        atc_sample(days[-1], "--days", "1", "--seed", "5", "--rows", "12000", "--start", day)
    expected = _one_pass(days)
    for partitions in (1, 3, 5):
        got = suggest_partitioned(days, partitions, tmp_path / str(partitions))
        assert canonical(got.to_dict()) == expected


def test_rejected_lines_are_accounted_as_in_one_pass(estate: dict, tmp_path: Path) -> None:
    lines = estate["files"]["jsonl"].read_bytes().split(b"\n")
    rng = random.Random(4)
    bad = [b"{not json", b"[1, 2]"]
    path = tmp_path / "bad.jsonl"
    out = []
    for line in lines:
        out += [line, rng.choice(bad)] if rng.random() < 0.002 else [line]
    path.write_bytes(b"\n".join(out))
    single = suggest_paths([path])
    assert single.quarantine.rejected > 0
    got = suggest_partitioned([path], 4, tmp_path / "run")
    assert canonical(got.to_dict()) == canonical(single.to_dict())
