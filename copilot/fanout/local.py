"""The fan-out steps as plain functions, and all of them in one process."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from copilot.errors import InputError
from copilot.fanout.merge import merge
from copilot.fanout.partial import PartialFile, read_partial, write_partial
from copilot.fanout.partition import Partition, plan
from copilot.fanout.read import read_partition
from copilot.fanout.requests import spill_requests, write_requests
from copilot.logs.reader import ReadOptions, detect_format
from copilot.pipeline import AnalysisRun
from copilot.spill import SpillDir
from copilot.throttling.collect import Collector, extra_columns
from copilot.throttling.options import DEFAULT_HEADROOM, check_headroom
from copilot.throttling.run import SuggestRun, build_report, collected_attrs


def plan_paths(
    paths: Iterable[Path | str], partitions: int, options: ReadOptions | None = None
) -> list[Partition]:
    """Detect each file's format and split the files into about ``partitions`` parts."""
    options = options or ReadOptions()
    files = [Path(p) for p in paths]
    formats = [detect_format(p, options) for p in files]
    return plan(files, formats, max(1, partitions), headerless=options.csv_columns is not None)


@dataclass(frozen=True)
class PartitionDone:
    """A partition's partial on disk, and the counts worth showing."""

    partial: PartialFile
    records: int
    rejected: int
    chunks: int
    requests: PartialFile | None = None  # its collected requests, when asked to collect


def run_partition(
    part: Partition,
    run_dir: Path,
    options: ReadOptions | None = None,
    *,
    keep_rejects: bool = False,
    on_chunk: Callable[[int], None] = lambda _n: None,
    collect: Sequence[str] | None = None,
) -> PartitionDone:
    """Read one partition and write its partial (and rejected lines) under ``run_dir``.

    ``collect``: also collect its requests for ``atc suggest``, keeping these
    attribute columns (``copilot.throttling.run.collected_attrs``: ``"path:hash"`` keeps the
    path as a hash per request, ``copilot.throttling.collect.HASHED``), and write them
    as a second partial (``copilot.fanout.requests``).
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    rejects_tmp = run_dir / f".{part.id}.{os.getpid()}.rejects.tmp" if keep_rejects else None
    if rejects_tmp is not None:
        rejects_tmp.unlink(missing_ok=True)
    collector = None if collect is None else Collector(tuple(collect))
    reading = read_partition(
        part, options, quarantine_path=rejects_tmp, on_chunk=on_chunk,
        consumers=[collector] if collector else [],
        extra_columns=extra_columns(collect or ()),
    )  # fmt: skip
    rejects = None
    if rejects_tmp is not None:
        rejects = f"{part.id}.rejects.jsonl"
        if rejects_tmp.exists():
            os.replace(rejects_tmp, run_dir / rejects)
        else:
            (run_dir / rejects).write_text("", encoding="utf-8")
    partial = write_partial(run_dir, part, reading, rejects)
    requests = None
    if collector is not None:
        requests = write_requests(run_dir, part, collector.finish(), collector.hashed)
    q = reading.quarantine
    return PartitionDone(partial, q.records, q.rejected, reading.chunks, requests)


def merge_files(
    partials: Iterable[PartialFile],
    sources: list[str],
    quarantine_path: Path | None = None,
) -> AnalysisRun:
    """Read the partials (checksums checked) and merge them.

    Every partial is checked up front, but only its header is kept: the merge
    reads each one's arrays again when it adds them, so memory holds the merged
    aggregates and one partial, however many partitions there are.
    """
    headers = [read_partial(Path(p.path), p.sha256).header() for p in partials]
    return merge(headers, sources, quarantine_path)


def analyze_partitioned(
    paths: Iterable[Path | str],
    partitions: int,
    run_dir: Path,
    options: ReadOptions | None = None,
    quarantine_path: Path | None = None,
) -> AnalysisRun:
    """``analyze_paths`` by partitions, in this process: the fan-out without Temporal."""
    files = [Path(p) for p in paths]
    parts = plan_paths(files, partitions, options)
    keep = quarantine_path is not None
    done = [run_partition(p, run_dir, options, keep_rejects=keep) for p in parts]
    return merge_files([d.partial for d in done], [str(p) for p in files], quarantine_path)


def suggest_files(
    done: Sequence[PartitionDone],
    sources: list[str],
    headroom: float = DEFAULT_HEADROOM,
    quarantine_path: Path | None = None,
) -> SuggestRun:
    """``atc suggest``'s run from collecting partitions: both merges, then the advice.

    The advice itself runs here, one proxy's merged requests at a time
    (docs/fanout.md, "Memory").
    """
    missing = [d.partial.path for d in done if d.requests is None]
    if missing:
        raise InputError(f"partitions read without collecting their requests: {missing}")
    analysis = merge_files([d.partial for d in done], sources, quarantine_path)
    with SpillDir() as spill:  # merged by proxy on disk: memory holds one proxy's share
        req = spill_requests((d.requests for d in done if d.requests is not None), spill)
        report = build_report(analysis.analysis, req, check_headroom(headroom))
    return SuggestRun(report, analysis.analysis, analysis.quarantine, analysis.sources)


def suggest_partitioned(
    paths: Iterable[Path | str],
    partitions: int,
    run_dir: Path,
    options: ReadOptions | None = None,
    *,
    headroom: float = DEFAULT_HEADROOM,
    quarantine_path: Path | None = None,
) -> SuggestRun:
    """``suggest_paths`` (no bundles) by partitions in this process: the fan-out, no Temporal."""
    files = [Path(p) for p in paths]
    parts = plan_paths(files, partitions, options)
    attrs = collected_attrs()
    keep = quarantine_path is not None
    done = [run_partition(p, run_dir, options, keep_rejects=keep, collect=attrs) for p in parts]
    return suggest_files(done, [str(p) for p in files], headroom, quarantine_path)
