"""Logs in, analysis out: the one path shared by the CLI, the dashboard and workflows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from copilot.analysis import COLUMNS_USED, Analysis, Analyzer
from copilot.logs.quarantine import Quarantine
from copilot.logs.reader import ReadOptions, iter_chunks

# The canonical columns the analyzer reads; the rest are not parsed at all.
ANALYSIS_COLUMNS = COLUMNS_USED


@dataclass
class AnalysisRun:
    """An analysis with the account of what was read and what was quarantined."""

    analysis: Analysis
    quarantine: Quarantine
    sources: list[str]

    def to_dict(self) -> dict[str, object]:
        body = self.analysis.to_dict()
        body["records"] = self.quarantine.records
        body["rejected"] = self.quarantine.rejected
        body["lines_read"] = self.quarantine.lines_read
        body["quarantine"] = self.quarantine.to_dict()
        body["sources"] = self.sources
        return body


def analyze_paths(
    paths: Iterable[Path | str],
    options: ReadOptions | None = None,
    quarantine_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> AnalysisRun:
    """Stream every file through the analyzer; memory stays flat as files grow.

    ``progress`` is called after each chunk with the records read so far.
    """
    paths = [Path(p) for p in paths]
    options = options or ReadOptions()
    if options.columns is None:
        options = replace(options, columns=ANALYSIS_COLUMNS)
    quarantine = Quarantine(path=quarantine_path)
    analyzer = Analyzer()
    try:
        for chunk in iter_chunks(paths, quarantine, options):
            analyzer.add(chunk)
            if progress is not None:
                progress(quarantine.records)
    finally:
        quarantine.close()
    return AnalysisRun(analyzer.finish(), quarantine, [str(p) for p in paths])
