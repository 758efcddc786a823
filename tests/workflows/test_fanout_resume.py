"""Resuming a partition: which pieces an earlier attempt's heartbeat lets the next one keep.

Only a prefix of the partition's pieces, each with its files still on disk and
their recorded checksums, is kept; a piece whose partial changed or vanished,
and every piece after it, is read again.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from copilot.fanout.partition import BYTES, Partition
from workflows.fanout.activities import resumed
from workflows.fanout.shared import FileRef, PartialRef


def _pieces(n: int) -> list[Partition]:
    return [Partition(f"0000-0000.{k:03d}", "/logs/day.csv", "analytics-csv", BYTES, k, k + 1)
            for k in range(n)]  # fmt: skip


def _ref(tmp: Path, piece: Partition, *, requests: bool = False) -> PartialRef:
    def write(name: str) -> FileRef:
        path = tmp / name
        path.write_bytes(name.encode())
        return FileRef(str(path), hashlib.sha256(name.encode()).hexdigest(), len(name))

    own = write(f"{piece.id}.npz")
    extra = write(f"{piece.id}.requests.npz") if requests else None
    return PartialRef("0000-0000", own.path, own.sha256, own.bytes, 10, 0, 1, "1@h", 1, extra,
                      piece.id)  # fmt: skip


def _details(refs: list[PartialRef]) -> list[dict]:
    """What the SDK hands a retry: the last heartbeat's arguments, as plain JSON values."""
    return [{"partition": "0000-0000", "chunks": 2, "done": [dataclasses.asdict(r) for r in refs]}]


def test_the_pieces_of_the_last_heartbeat_are_kept(tmp_path: Path) -> None:
    pieces = _pieces(5)
    refs = [_ref(tmp_path, p, requests=True) for p in pieces[:3]]
    assert resumed(_details(refs), pieces) == refs


def test_nothing_is_kept_without_a_heartbeat_or_from_a_foreign_one(tmp_path: Path) -> None:
    pieces = _pieces(3)
    assert resumed([], pieces) == []
    assert resumed(["not a checkpoint"], pieces) == []
    other = _ref(tmp_path, Partition("0001-0000.000", "/logs/other.csv", "analytics-csv"))
    assert resumed(_details([other]), pieces) == []
    assert resumed([{"done": [{"unexpected": 1}]}], pieces) == []


def test_a_changed_or_missing_partial_is_read_again_with_every_piece_after_it(
    tmp_path: Path,
) -> None:
    pieces = _pieces(4)
    refs = [_ref(tmp_path, p, requests=True) for p in pieces[:3]]
    Path(refs[1].path).write_bytes(b"changed")
    assert resumed(_details(refs), pieces) == refs[:1]
    refs = [_ref(tmp_path, p, requests=True) for p in pieces[:3]]
    Path(refs[2].requests.path).unlink()
    assert resumed(_details(refs), pieces) == refs[:2]
