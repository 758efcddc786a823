"""Merge partials into the analysis one process would have made of the same files.

Every aggregate of the ``Analyzer`` is a sum of integer counts per (group,
t) cell, so merging is relabelling and adding: each partial's label ids are
mapped into one set of vocabularies (taken in partition order, which is the
order one process would have first seen them in), its cells re-keyed and
added. ``finish`` then works as after a single pass; its output orders
everything by label, never by id, so the JSON is the single-process JSON.
Cells are streamed from each partial a slice at a time, and the merged
per-second aggregates spill past their budget as in one pass, so the merge's
memory does not follow the cells either.

The quarantine merges the same way: counts add up, samples are concatenated
in partition order and cut to the first ``MAX_SAMPLES``, and line numbers of
a byte range get the lines of the ranges before it added.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from copilot.analysis import Analyzer
from copilot.analysis.sparse import GROUP_BITS, reduce_keys, split
from copilot.errors import LogFormatError
from copilot.fanout.partial import AGGREGATES, LABELS, Partial, aggregate
from copilot.fanout.partition import BYTES
from copilot.fanout.read import count_lines
from copilot.logs.quarantine import MAX_SAMPLES, Quarantine, Rejected
from copilot.pipeline import AnalysisRun


def _luts(an: Analyzer, p: Partial) -> dict[str, np.ndarray]:
    v = an.vocabs
    luts = {name: getattr(v, name).ids(p.meta["labels"][name]) for name in LABELS}
    for name, cols, vocab in (("consumer", ("proxy", "app", "client"), v.consumer),
                              ("endpoint", ("proxy", "verb", "template"), v.endpoint)):  # fmt: skip
        ids = p.arrays[f"{name}s"]
        mapped = [luts[c][ids[:, j]] if len(ids) else ids[:, j] for j, c in enumerate(cols)]
        luts[name] = vocab.ids(zip(*(m.tolist() for m in mapped), strict=True))
    return luts


def add_partial(an: Analyzer, p: Partial) -> None:
    """Fold one partial into ``an`` (partials must come in partition order)."""
    luts = _luts(an, p)
    for name, vocab in AGGREGATES.items():
        target, lut = aggregate(an, name), luts[vocab]
        for keys, counts in p.cells(name):  # slices: the partial's aggregate is never whole
            group, t = split(keys)
            target.add(*reduce_keys((t << GROUP_BITS) | lut[group], counts))
    meta = p.meta
    an.records += meta["records"]
    an.skipped += meta["skipped"]
    for edge, pick in (("first_ms", min), ("last_ms", max)):
        mine, theirs = getattr(an, edge), meta[edge]
        if theirs is not None:
            setattr(an, edge, theirs if mine is None else pick(mine, theirs))
    an.outcome_totals += p.arrays["outcome_totals"]
    for name, n in meta["unlogged"].items():
        an.unlogged[name] += n
    an.vocabs.template.overflowed += meta["template_overflowed"]


def line_offsets(partials: list[Partial]) -> list[int]:
    """What to add to each partial's line numbers to make them the file's.

    A byte range's offset is the newlines before it in its file, counted only
    up to the last range that rejected something (the others have no line to
    shift), each byte once: partials come in file order.
    """
    counted: dict[str, tuple[int, int]] = {}  # path -> (bytes counted, newlines in them)
    out = []
    for p in partials:
        part = p.partition
        if part.kind != BYTES or part.start == 0 or not p.meta["quarantine"]["rejected"]:
            out.append(0)
            continue
        upto, lines = counted.get(part.path, (0, 0))
        lines += count_lines(part.path, upto, part.start)
        counted[part.path] = (part.start, lines)
        out.append(lines - p.meta["header_lines"])
    return out


def _shifted(sample: dict, offset: int, source: str, windowed: bool) -> Rejected:
    line = sample["line"]
    if windowed:  # read through a window on the file: lines count from the window
        line = None if line is None else line + offset
        sample = {**sample, "source": source}
    return Rejected.from_dict({**sample, "line": line})


def merge_quarantine(partials: list[Partial], path: Path | None) -> Quarantine:
    """The quarantine one pass would have kept; its rejected lines appended to ``path``."""
    q = Quarantine(path=path)
    kinds: Counter[str] = Counter()
    sink = path.open("a", encoding="utf-8") if path is not None else None
    try:
        for p, offset in zip(partials, line_offsets(partials), strict=True):
            mine, part = p.meta["quarantine"], p.partition
            windowed = part.kind == BYTES
            q.lines_read += mine["lines_read"]
            q.records += mine["records"]
            q.rejected += mine["rejected"]
            for kind, n in mine["kinds"]:
                kinds[kind] += n
            for s in mine["samples"]:
                if len(q.samples) < MAX_SAMPLES:
                    q.samples.append(_shifted(s, offset, part.path, windowed))
            if sink is not None and mine.get("rejects_file"):
                with (p.where / mine["rejects_file"]).open(encoding="utf-8") as fh:
                    for line in fh:
                        item = _shifted(json.loads(line), offset, part.path, windowed)
                        sink.write(json.dumps(item.to_dict()) + "\n")
    finally:
        if sink is not None:
            sink.close()
    q.kinds = kinds
    return q


def check_files(partials: list[Partial], q: Quarantine) -> None:
    """A file that gave no record at all is not a log of its format (as in one pass)."""
    files: dict[str, list[Partial]] = {}
    for p in partials:
        files.setdefault(p.partition.path, []).append(p)
    for path, mine in files.items():
        if sum(p.meta["quarantine"]["records"] for p in mine) == 0:
            read = sum(p.meta["quarantine"]["lines_read"] for p in mine)
            first = next((s.reason for s in q.samples if s.source == path), "no lines")
            raise LogFormatError(
                f"{path}: not one of {read} lines could be read as {mine[0].partition.fmt} "
                f"(first problem: {first})"
            )


def merge(
    partials: Iterable[Partial],
    sources: list[str],
    quarantine_path: Path | None = None,
) -> AnalysisRun:
    """The ``AnalysisRun`` of all partials (in any order: they are sorted by partition)."""
    partials = sorted(partials, key=lambda p: (p.partition.file_index, p.partition.id))
    q = merge_quarantine(partials, quarantine_path)
    check_files(partials, q)
    an = Analyzer()
    for p in partials:
        add_partial(an, p.load())  # one partial's small arrays in memory at a time
    return AnalysisRun(an.finish(), q, sources)
