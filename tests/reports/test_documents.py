"""A report's three documents, read through the fan-out, equal the single pass byte for byte.

The real fan-out activities (plan, one ``partition`` per part, ``suggest`` with
``documents=True``) run in an activity environment over a plain CSV day cut
into byte ranges and the gzipped bundled sample; the files they leave are
compared with the documents of one ``suggest_paths`` pass, and those with
``atc analyze --json`` and ``atc suggest --json``.
"""

from __future__ import annotations

import hashlib
import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from copilot.cli import run as cli
from copilot.reports.documents import KINDS, encode, report_documents
from copilot.throttling.run import collected_attrs, suggest_paths
from tests.reports.logs import SAMPLE, generated
from workflows.fanout import activities
from workflows.fanout.shared import PartitionInput, PlanInput, ReadSpec, SuggestInput

pytestmark = pytest.mark.slow  # analyses the 7-day sample several times


@pytest.fixture(scope="module")
def two_files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    tmp = tmp_path_factory.mktemp("logs")
    return [str(generated(tmp / "day-1.csv", seed=3)), str(SAMPLE)]


def _fanned_out(paths: list[str], partitions: int, run_dir: Path) -> tuple[dict[str, bytes], int]:
    """The documents the fan-out activities write, and how many partitions they read."""
    env = ActivityEnvironment()
    parts = env.run(activities.plan, PlanInput(paths, partitions, ReadSpec()))
    collect = list(collected_attrs())
    refs = [
        ref
        for p in parts
        for ref in env.run(
            activities.partition, PartitionInput(str(run_dir), p, ReadSpec(), collect=collect)
        )
    ]
    merged = env.run(activities.suggest, SuggestInput(str(run_dir), refs, paths, documents=True))
    assert merged.documents is not None and merged.text is None
    out = {}
    for kind, ref in merged.documents.items():
        body = Path(ref.path).read_bytes()
        assert hashlib.sha256(body).hexdigest() == ref.sha256 and len(body) == ref.bytes
        out[kind] = body
    assert merged.path == merged.documents["suggest"].path
    return out, len(parts)


def _cli_json(*argv: str) -> dict[str, Any]:
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli(list(argv)) == 0
    body = json.loads(out.getvalue())
    for key in ("ok", "error", "policies_out"):
        body.pop(key, None)
    return body


@pytest.mark.parametrize("partitions", [0, 5])
def test_fanned_out_documents_are_the_single_pass_bytes(
    two_files: list[str], partitions: int, tmp_path: Path
) -> None:
    got, count = _fanned_out(two_files, partitions, tmp_path)
    assert count == 2 if partitions == 0 else count > 2  # > 2: the plain CSV really was cut
    single = report_documents(suggest_paths(two_files))
    assert set(got) == set(KINDS)
    for kind in KINDS:
        assert got[kind] == encode(single[kind]), kind
    assert json.loads(got["series"])  # an hourly series per proxy to compare


def test_the_documents_are_atc_analyze_and_atc_suggest_json(two_files: list[str]) -> None:
    docs = {k: json.loads(encode(v)) for k, v in report_documents(suggest_paths(two_files)).items()}
    assert docs["analysis"] == _cli_json("analyze", *two_files, "--json")
    assert docs["suggest"] == _cli_json("suggest", *two_files, "--json")
