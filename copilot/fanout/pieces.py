"""Checkpoints inside a partition: the pieces a partition activity reads one after another.

A partition can be large (a day's export is gigabytes). Its activity reads it
as consecutive *pieces* and writes each piece's partial as soon as the piece
is read, so a worker lost mid-partition costs only the piece it was reading:
the next attempt finds the finished pieces in its last heartbeat and goes on
from there (``workflows/fanout/activities.py``). A piece is itself a
partition (a newline-aligned byte range, with the CSV header in front when
needed, or one Parquet row group), so the merge treats pieces exactly as
partitions and the merged result does not depend on where pieces end.
Files that cannot be cut (gzip, Avro, JSON arrays, YAML) are one piece. The
fan-out's default piece size is ``workflows.fanout.shared.DEFAULT_PIECE_BYTES``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from copilot.fanout.partition import (
    BYTES,
    ROW_GROUPS,
    WHOLE,
    Partition,
    line_splittable,
    next_line_start,
)


def split_pieces(part: Partition, piece_bytes: int, *, headerless: bool = False) -> list[Partition]:
    """``part`` as consecutive pieces of about ``piece_bytes`` (0 or less: one piece).

    ``headerless``: CSV files have no header line (``--csv-columns``).
    """
    if piece_bytes <= 0:
        return [part]
    if part.fmt == "parquet" and part.kind in (WHOLE, ROW_GROUPS):
        return _row_group_pieces(part)
    if part.kind == BYTES or (part.kind == WHOLE and line_splittable(Path(part.path), part.fmt)):
        return _byte_pieces(part, piece_bytes, headerless)
    return [part]


def _byte_pieces(part: Partition, piece_bytes: int, headerless: bool) -> list[Partition]:
    path = Path(part.path)
    start, end = (part.start, part.end) if part.kind == BYTES else (0, part.size)
    if end - start <= piece_bytes:
        return [part]
    csv_header = part.fmt == "analytics-csv" and not headerless
    # The file's own header line is read with the first piece, never alone.
    first = next_line_start(path, 0, end) if csv_header and start == 0 else start
    cuts = [start]
    at = first
    while at + piece_bytes < end:
        cut = next_line_start(path, at + piece_bytes - 1, end)
        if cut >= end:
            break
        cuts.append(cut)
        at = cut
    cuts.append(end)
    if len(cuts) == 2:
        return [part]
    return [
        replace(part, id=f"{part.id}.{k:03d}", kind=BYTES, start=a, end=b,
                header=part.header if k == 0 else csv_header)
        for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True))
    ]  # fmt: skip


def _row_group_pieces(part: Partition) -> list[Partition]:
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(part.path).metadata
    groups = range(part.start, part.end) if part.kind == ROW_GROUPS else range(meta.num_row_groups)
    if len(groups) <= 1:
        return [part]
    out, row = [], part.first_row
    for k, group in enumerate(groups):
        out.append(replace(part, id=f"{part.id}.{k:03d}", kind=ROW_GROUPS, start=group,
                           end=group + 1, first_row=row))  # fmt: skip
        row += meta.row_group(group).num_rows
    return out
