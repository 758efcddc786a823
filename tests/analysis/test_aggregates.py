"""Spilling the per-second cells to disk changes nothing in the analysis, and leaves nothing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from copilot.analysis import COLUMNS_USED, Analysis, analyze, runs, sparse
from copilot.commands._output import to_json
from copilot.logs.quarantine import Quarantine
from copilot.logs.reader import ReadOptions, iter_chunks
from copilot.pipeline import analyze_paths
from tests.analysis.synth import small_frame, synthetic_chunks
from tests.paths import SAMPLE

EXPORT = SAMPLE / "apigee-analytics-7d.csv.gz"
TINY = 2_000  # cells: every per-second aggregate spills many runs


def _pieces(frame: pd.DataFrame, n: int, order: str, seed: int) -> list[pd.DataFrame]:
    """Time-ordered pieces cut at random rows (they split seconds), put in ``order``."""
    rng = np.random.default_rng(seed)
    frame = frame.sort_values("ts", kind="stable").reset_index(drop=True)
    cuts = np.r_[0, np.sort(rng.choice(np.arange(1, len(frame)), n - 1, replace=False)), len(frame)]
    pieces = [frame.iloc[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    if order == "reversed":
        pieces.reverse()
    elif order == "shuffled":
        rng.shuffle(pieces)
    return pieces


def _sample() -> pd.DataFrame:
    return pd.concat(iter_chunks([EXPORT], Quarantine(), ReadOptions(columns=COLUMNS_USED)))


def _estate() -> pd.DataFrame:
    return pd.concat(synthetic_chunks(60_000, chunk_rows=20_000, days=3, seed=4))


SOURCES = {"sample": _sample, "estate": _estate, "two client ids per app": small_frame}


@pytest.fixture(scope="module", params=sorted(SOURCES))
def source(request) -> tuple[pd.DataFrame, Analysis]:
    frame = SOURCES[request.param]()
    return frame, analyze([frame], keep_seconds=True)


def _same(a: Analysis, b: Analysis) -> None:
    assert to_json(a.to_dict()) == to_json(b.to_dict())  # the JSON, byte for byte
    for kind in a.tables:
        pd.testing.assert_frame_equal(a.tables[kind], b.tables[kind])
    for name in ("proxy_minutes", "app_minutes", "proxy_seconds", "consumer_seconds"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


@pytest.mark.parametrize("order", ["in order", "reversed", "shuffled"])
def test_the_analysis_is_identical_when_the_seconds_spill(
    source, order: str, tmp_path, monkeypatch
) -> None:
    frame, whole = source
    monkeypatch.setattr(sparse, "SPILL_CELLS", TINY)
    monkeypatch.setenv("ATC_SPILL_DIR", str(tmp_path))
    written = []
    write = runs.RunStore.write
    monkeypatch.setattr(runs.RunStore, "write", lambda s, *a: written.append(1) or write(s, *a))
    _same(whole, analyze(_pieces(frame, 13, order, seed=3), keep_seconds=True))
    assert len(written) > 4  # spilled, and merged runs
    assert not list(tmp_path.rglob("*"))  # and removed after finish


def test_spilled_runs_are_removed_when_the_analysis_fails(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sparse, "SPILL_CELLS", 200)
    monkeypatch.setenv("ATC_SPILL_DIR", str(tmp_path))

    def chunks():
        yield from _pieces(small_frame(), 6, "in order", seed=1)
        assert any(tmp_path.rglob("run*.keys"))  # spilled by now
        raise OSError("the disk went away")

    with pytest.raises(OSError, match="went away"):
        analyze(chunks())
    assert not list(tmp_path.rglob("*"))


def test_a_file_analysed_with_spilling_leaves_no_scratch_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sparse, "SPILL_CELLS", TINY)
    spill_root = tmp_path / "spill"
    monkeypatch.setenv("ATC_SPILL_DIR", str(spill_root))
    spilled = analyze_paths([EXPORT])
    monkeypatch.setattr(sparse, "SPILL_CELLS", None)
    in_memory = analyze_paths([EXPORT])
    assert json.loads(to_json(spilled.to_dict())) == json.loads(to_json(in_memory.to_dict()))
    assert spill_root.is_dir() and not list(spill_root.rglob("*"))
