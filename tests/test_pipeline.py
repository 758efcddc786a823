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
