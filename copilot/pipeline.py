"""Logs in, analysis out: the one streaming pass shared by the CLI, the dashboard and workflows.

:func:`read_pass` reads every file once; each canonical chunk goes to the
analyzer and to any extra consumers (``atc suggest`` adds its request
collector: ``copilot.throttling.run``). :func:`analyze_paths` is that pass
with no extra consumer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import pandas as pd

from copilot.analysis import COLUMNS_USED, Analysis, Analyzer
from copilot.logs.quarantine import Quarantine
from copilot.logs.reader import ReadOptions, iter_chunks

# The canonical columns the analyzer reads; the rest are not parsed at all.
ANALYSIS_COLUMNS = COLUMNS_USED


class ChunkConsumer(Protocol):
    """Anything that folds canonical chunks in as they stream by."""

    def add(self, chunk: pd.DataFrame) -> None: ...


def read_account(
    quarantine: Quarantine, sources: list[str], *, rejects: bool = True
) -> dict[str, object]:
    """What was read, as the JSON reports give it: records, rejected lines, sources
    (and, with ``rejects``, the quarantine's own account)."""
    body: dict[str, object] = {
        "records": quarantine.records,
        "rejected": quarantine.rejected,
        "lines_read": quarantine.lines_read,
    }
    if rejects:
        body["quarantine"] = quarantine.to_dict()
    body["sources"] = sources
    return body


@dataclass
class AnalysisRun:
    """An analysis with the account of what was read and what was quarantined."""

    analysis: Analysis
    quarantine: Quarantine
    sources: list[str]

    def to_dict(self) -> dict[str, object]:
        body = self.analysis.to_dict()
        body.update(read_account(self.quarantine, self.sources))
        return body


def with_columns(options: ReadOptions | None, extra_columns: Sequence[str] = ()) -> ReadOptions:
    """``options`` parsing only the analysis columns and ``extra_columns``, unless it names its own."""
    options = options or ReadOptions()
    if options.columns is not None:
        return options
    return replace(options, columns=tuple(dict.fromkeys((*ANALYSIS_COLUMNS, *extra_columns))))


def feed(
    chunks: Iterable[pd.DataFrame],
    consumers: Sequence[ChunkConsumer],
    after: Callable[[int], None] | None = None,
) -> int:
    """Give every chunk to every consumer in order; ``after(n)`` once chunk ``n`` (from 1) is in.

    The one loop every reader of logs runs: this module's pass and a fan-out
    partition (``copilot.fanout.read``, which also reads a report's logs).
    Returns the number of chunks fed.
    """
    count = 0
    for chunk in chunks:
        for consumer in consumers:
            consumer.add(chunk)
        count += 1
        if after is not None:
            after(count)
    return count


def read_pass(
    paths: Iterable[Path | str],
    options: ReadOptions | None = None,
    *,
    consumers: Sequence[ChunkConsumer] = (),
    extra_columns: Sequence[str] = (),
    quarantine_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> AnalysisRun:
    """Stream every file through the analyzer and ``consumers``; memory stays flat as files grow.

    Unless ``options`` names the columns, only the analysis columns and
    ``extra_columns`` are parsed. ``progress`` is called after each chunk with
    the records read so far.
    """
    paths = [Path(p) for p in paths]
    options = with_columns(options, extra_columns)
    quarantine = Quarantine(path=quarantine_path)
    analyzer = Analyzer()
    report = None if progress is None else (lambda _n: progress(quarantine.records))
    try:
        feed(iter_chunks(paths, quarantine, options), [analyzer, *consumers], report)
        analysis = analyzer.finish()
    finally:
        quarantine.close()
        analyzer.close()  # its spilled per-second runs, also when reading failed
    return AnalysisRun(analysis, quarantine, [str(p) for p in paths])


def analyze_paths(
    paths: Iterable[Path | str],
    options: ReadOptions | None = None,
    quarantine_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> AnalysisRun:
    """The analysis of every file in one streaming pass (:func:`read_pass`).

    ``progress`` is called after each chunk with the records read so far.
    """
    return read_pass(paths, options, quarantine_path=quarantine_path, progress=progress)
