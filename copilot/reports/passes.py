"""The analysis pass of a report, resumable from its last finished chunk.

Feeds every canonical chunk to the analyzer and the request collector, exactly
as ``atc suggest`` does (``copilot.throttling.run.suggest_paths``), so the
documents it writes equal ``atc analyze --json`` and ``atc suggest --json`` on
the same files. After each chunk the state (analyzer, collector, the counts of
finished files, the position) is pickled to a checkpoint; a retried attempt
loads it, skips the files already done, and re-reads the current file without
feeding the chunks it had already counted. The checkpoint is written by this
process for itself only (never shared or downloaded), which is why pickle is fine.
"""

from __future__ import annotations

import itertools
import os
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from copilot.analysis import Analyzer
from copilot.logs.quarantine import MAX_SAMPLES, Quarantine
from copilot.logs.reader import ReadOptions, iter_chunks
from copilot.pipeline import AnalysisRun, feed, with_columns
from copilot.throttling.collect import Collector
from copilot.throttling.run import DEFAULT_HEADROOM, SuggestRun, build_report


@dataclass
class Position:
    """Where the pass stands: file index, chunks fed from that file, chunks fed in all."""

    file: int = 0
    chunk: int = 0
    total: int = 0


@dataclass
class PassState:
    """Everything needed to continue a pass after the chunk at ``position``."""

    analyzer: Analyzer = field(default_factory=Analyzer)
    collector: Collector = field(default_factory=Collector)
    done: Quarantine = field(default_factory=Quarantine)
    position: Position = field(default_factory=Position)


@dataclass
class PassResult:
    """The two documents, and where this attempt started (0: from the beginning)."""

    analysis: dict[str, Any]
    suggest: dict[str, Any]
    resumed_from: int
    chunks: int
    series: dict[str, list[list[Any]]] = field(default_factory=dict)


def save_state(path: Path, state: PassState) -> None:
    """Write a checkpoint atomically (a crash leaves the previous one whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as out:
        pickle.dump(state, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)


def load_state(path: Path) -> PassState | None:
    """The checkpoint at ``path``, or None when there is none yet."""
    if not path.exists():
        return None
    with path.open("rb") as src:
        state = pickle.load(src)  # noqa: S301 - written by this pass for itself, see module doc
    return state if isinstance(state, PassState) else None


def run_pass(
    paths: Sequence[Path | str],
    options: ReadOptions | None = None,
    *,
    state: PassState | None = None,
    on_chunk: Callable[[PassState], None] | None = None,
    headroom: float = DEFAULT_HEADROOM,
) -> PassResult:
    """Analyse ``paths`` (continuing ``state`` if given); ``on_chunk`` after each chunk."""
    options = with_columns(options)
    state = state or PassState()
    started = state.position.total
    for index, path in enumerate(paths):
        if index < state.position.file:
            continue
        _feed_file(Path(path), index, options, state, on_chunk)
    analysis = state.analyzer.finish()
    sources = [str(p) for p in paths]
    report = build_report(analysis, state.collector.finish(), headroom, [])
    return PassResult(
        analysis=AnalysisRun(analysis, state.done, sources).to_dict(),
        suggest=SuggestRun(report, analysis, state.done, sources).to_dict(),
        resumed_from=started,
        chunks=state.position.total,
        series=hourly_series(analysis.proxy_minutes),
    )


def hourly_series(minutes: pd.DataFrame) -> dict[str, list[list[Any]]]:
    """Per proxy, per hour: [hour, requests, 4xx+5xx errors, highest minute p95 in ms]."""
    if minutes.empty:
        return {}
    frame = minutes.assign(
        hour=minutes["minute"].dt.floor("h"),
        errors=minutes["errors_4xx"] + minutes["errors_5xx"],
    )
    hourly = frame.groupby(["proxy", "hour"], observed=True).agg(
        requests=("requests", "sum"), errors=("errors", "sum"), p95=("p95_ms", "max")
    )
    out: dict[str, list[list[Any]]] = {}
    for (proxy, hour), row in hourly.iterrows():
        p95 = None if pd.isna(row["p95"]) else round(float(row["p95"]), 1)
        out.setdefault(str(proxy), []).append(
            [hour.isoformat(), int(row["requests"]), int(row["errors"]), p95]
        )
    return out


def _feed_file(
    path: Path,
    index: int,
    options: ReadOptions,
    state: PassState,
    on_chunk: Callable[[PassState], None] | None,
) -> None:
    # Re-reading the file recounts its lines from zero, so its own quarantine is
    # exact whether or not earlier chunks of it were fed before a crash.
    if state.position.file != index:
        state.position = Position(index, 0, state.position.total)
    skip = state.position.chunk
    local = Quarantine()

    def fed(n: int) -> None:
        state.position = Position(index, skip + n, state.position.total + 1)
        if on_chunk is not None:
            on_chunk(state)

    chunks = itertools.islice(iter_chunks([path], local, options), skip, None)
    feed(chunks, [state.analyzer, state.collector], fed)
    _merge(state.done, local)
    state.position = Position(index + 1, 0, state.position.total)


def _merge(into: Quarantine, part: Quarantine) -> None:
    """Add one file's counts, as if one quarantine had read both in order."""
    into.lines_read += part.lines_read
    into.records += part.records
    into.rejected += part.rejected
    into.kinds.update(part.kinds)
    room = MAX_SAMPLES - len(into.samples)
    into.samples.extend(part.samples[: max(room, 0)])
