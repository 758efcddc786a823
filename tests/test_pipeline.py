"""The one streaming pass: every chunk reaches the analyzer and each extra consumer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from copilot.pipeline import ANALYSIS_COLUMNS, analyze_paths, read_account, read_pass

LOGS = Path(__file__).parent / "fixtures" / "logs"


class _Rows:
    def __init__(self) -> None:
        self.rows, self.columns = 0, set()

    def add(self, chunk: pd.DataFrame) -> None:
        self.rows += len(chunk)
        self.columns |= set(chunk.columns)


def test_extra_consumers_see_every_record_and_the_extra_columns() -> None:
    seen = _Rows()
    path = LOGS / "analytics_export.csv"
    run = read_pass([path], consumers=[seen], extra_columns=["client_ip"])
    assert seen.rows == run.quarantine.records == run.analysis.records > 0
    assert set(ANALYSIS_COLUMNS) | {"client_ip"} <= seen.columns
    plain = analyze_paths([path])
    assert run.analysis.to_dict() == plain.analysis.to_dict()  # consumers change nothing
    assert run.quarantine.rejected == plain.quarantine.rejected


def test_the_read_account_is_the_same_for_analysis_and_advice() -> None:
    run = analyze_paths([LOGS / "analytics_export.csv"])
    full = read_account(run.quarantine, run.sources)
    short = read_account(run.quarantine, run.sources, rejects=False)
    assert list(full) == ["records", "rejected", "lines_read", "quarantine", "sources"]
    assert short == {k: v for k, v in full.items() if k != "quarantine"}


def test_a_pass_that_fails_midway_leaves_no_scratch_file(tmp_path: Path, monkeypatch) -> None:
    import pytest

    from copilot.analysis import sparse
    from copilot.spill import SpillDir
    from copilot.throttling.collect import Collector
    from tests.paths import SAMPLE_LOG

    monkeypatch.setattr(sparse, "SPILL_CELLS", 500)  # the analysis spills from the first chunk
    monkeypatch.setenv("ATC_SPILL_DIR", str(tmp_path))

    class Fails(Collector):
        seen = 0

        def add(self, chunk: pd.DataFrame) -> None:
            super().add(chunk)
            self.seen += 1
            if self.seen == 1:  # after the analyzer took (and spilled) the chunk
                raise RuntimeError("disk gone")

    with SpillDir() as collected, pytest.raises(RuntimeError, match="disk gone") as failed:
        read_pass([SAMPLE_LOG], consumers=[Fails((), spill=collected)])
    # The traceback (kept in ``failed``) holds the pass's frames, analyzer included: only an
    # explicit close, not garbage collection, has removed its runs by now.
    assert failed.tb is not None and not list(tmp_path.rglob("*"))
