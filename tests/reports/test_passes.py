"""The report's analysis pass: the same numbers as ``atc analyze``/``atc suggest``, resumable."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from copilot.cli import run as cli
from copilot.commands._output import to_json
from copilot.reports.passes import PassState, load_state, run_pass, save_state
from tests.reports.logs import SAMPLE, generated

pytestmark = pytest.mark.slow  # analyses the 7-day sample several times


def _cli_json(*argv: str) -> dict[str, Any]:
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli(list(argv)) == 0
    body = json.loads(out.getvalue())
    for key in ("ok", "error", "policies_out"):
        body.pop(key, None)
    return body


def _doc(doc: dict[str, Any]) -> dict[str, Any]:
    return json.loads(to_json(doc))


@pytest.fixture(scope="module")
def two_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    tmp = tmp_path_factory.mktemp("logs")
    return [generated(tmp / "day-1.csv.gz", seed=3), SAMPLE]


def test_the_pass_documents_equal_analyze_and_suggest_json(two_files: list[Path]) -> None:
    paths = [str(p) for p in two_files]
    result = run_pass(paths)
    assert _doc(result.analysis) == _cli_json("analyze", *paths, "--json")
    assert _doc(result.suggest) == _cli_json("suggest", *paths, "--json")
    assert result.resumed_from == 0 and result.chunks == 2


class Crash(Exception):
    pass


def test_a_pass_resumed_from_its_checkpoint_equals_an_uninterrupted_one(
    two_files: list[Path], tmp_path: Path
) -> None:
    checkpoint = tmp_path / "pass.pkl"

    def crash_after_first(state: PassState) -> None:
        save_state(checkpoint, state)
        raise Crash

    with pytest.raises(Crash):
        run_pass(two_files, on_chunk=crash_after_first)
    state = load_state(checkpoint)
    assert state is not None and state.position.total == 1
    resumed = run_pass(two_files, state=state)
    whole = run_pass(two_files)
    assert resumed.resumed_from == 1 and resumed.chunks == whole.chunks == 2
    assert _doc(resumed.analysis) == _doc(whole.analysis)
    assert _doc(resumed.suggest) == _doc(whole.suggest)
    assert resumed.series == whole.series


def test_no_checkpoint_means_no_state(tmp_path: Path) -> None:
    assert load_state(tmp_path / "missing.pkl") is None
