"""Inputs, outputs and names shared by the fan-out workflow, its activities and starter.

Pure dataclasses (imported inside the workflow sandbox). Payloads carry
paths, checksums and counts only: partial aggregates travel by reference as
files under the shared directory, so a run's history stays small whatever
the size of the logs (a few hundred bytes per partition).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

TASK_QUEUE = "atc-fanout"
TASK_QUEUE_ENV = "ATC_FANOUT_TASK_QUEUE"
SLOTS_ENV = "ATC_FANOUT_SLOTS"  # partitions one worker process reads at a time
WORKFLOW = "FanoutAnalysisWorkflow"
WORKFLOW_PREFIX = "analyze-"
PLAN_ACTIVITY = "atc.fanout.plan"
PARTITION_ACTIVITY = "atc.fanout.partition"
MERGE_ACTIVITY = "atc.fanout.merge"
SUGGEST_ACTIVITY = "atc.fanout.suggest"
SUGGEST_PREFIX = "suggest-"
INPUT_ERROR = "InputError"  # ApplicationError type: bad input, not retried
DEFAULT_HEARTBEAT_S = 30.0
DEFAULT_CONCURRENCY = 16
# copilot.fanout.pieces: log bytes per checkpoint. A lost worker redoes at most one piece
# (a few seconds of reading); each piece is one more partial to write and merge.
DEFAULT_PIECE_BYTES = 256 << 20


def task_queue() -> str:
    """The fan-out task queue (``ATC_FANOUT_TASK_QUEUE``, default ``atc-fanout``)."""
    return os.environ.get(TASK_QUEUE_ENV) or TASK_QUEUE


@dataclass
class ReadSpec:
    """How to read the logs (``copilot.logs.reader.ReadOptions`` minus the column subset)."""

    fmt: str | None = None
    template: str | None = None
    csv_columns: list[str] | None = None


@dataclass
class FanoutInput:
    """Analyse ``paths`` in about ``partitions`` parts; partials go under ``shared_dir``.

    ``paths`` and ``shared_dir`` must be absolute and visible at the same
    place on every worker host. ``quarantine_file``: where the caller wants
    the rejected lines (the merge leaves them in the run directory).
    """

    paths: list[str]
    shared_dir: str
    partitions: int = 0  # 0: one per file
    read: ReadSpec = field(default_factory=ReadSpec)
    max_concurrent: int = DEFAULT_CONCURRENCY
    heartbeat_s: float = DEFAULT_HEARTBEAT_S
    quarantine_file: str | None = None
    # ``atc suggest --temporal``: partitions also collect their requests, keeping these
    # attribute columns, and the run ends with the advice (None: the analysis only).
    collect: list[str] | None = None
    headroom: float | None = None  # None: atc suggest's default
    top: int = 40  # rows per table of the text rendering
    # A report run (``LogAnalysisWorkflow``): with ``collect``, the last activity writes the
    # report's three documents (``copilot.reports.documents``) instead of suggest's JSON and text.
    documents: bool = False
    # A partition is read in pieces of about this many bytes, each checkpointed in the
    # activity's heartbeat: a lost worker costs the piece it was reading (0: no pieces).
    piece_bytes: int = DEFAULT_PIECE_BYTES


@dataclass
class PlanInput:
    paths: list[str]
    partitions: int
    read: ReadSpec


@dataclass
class PartitionSpec:
    """One partition (the fields of ``copilot.fanout.partition.Partition``)."""

    id: str
    path: str
    fmt: str
    kind: str
    start: int
    end: int
    first_row: int
    header: bool
    file_index: int
    size: int


@dataclass
class PartitionInput:
    run_dir: str
    partition: PartitionSpec
    read: ReadSpec
    keep_rejects: bool = False
    collect: list[str] | None = None
    piece_bytes: int = DEFAULT_PIECE_BYTES


@dataclass
class FileRef:
    """A file on the shared storage and its sha256."""

    path: str
    sha256: str
    bytes: int


@dataclass
class PartialRef:
    """A written partial (one piece of a partition): where, its sha256, its counts, and
    who wrote it. ``piece`` is the piece's id (the partition's when it is read whole)."""

    partition: str
    path: str
    sha256: str
    bytes: int
    records: int
    rejected: int
    chunks: int
    worker: str  # pid@host of the worker process
    attempt: int
    requests: FileRef | None = None  # the collected requests' partial (atc suggest)
    piece: str = ""


@dataclass
class MergeInput:
    run_dir: str
    refs: list[PartialRef]
    sources: list[str]
    quarantine_file: str | None = None


@dataclass
class MergedRef:
    """The merged analysis document (``atc analyze --json``'s body) on shared storage."""

    path: str
    sha256: str
    bytes: int
    records: int
    rejects_path: str | None = None
    text: FileRef | None = None  # atc suggest's text rendering of the same run
    # A report run: "analysis", "suggest" and "series" (``path`` is then the suggest document).
    documents: dict[str, FileRef] | None = None


@dataclass
class SuggestInput:
    """Merge collecting partitions and build ``atc suggest``'s report from them."""

    run_dir: str
    refs: list[PartialRef]
    sources: list[str]
    headroom: float | None = None
    top: int = 40
    quarantine_file: str | None = None
    documents: bool = False


@dataclass
class FanoutResult:
    """What a run did: the merged document's reference and every partition's."""

    merged: MergedRef
    partitions: list[PartialRef]  # one per piece, in file order
    run_dir: str

    def retried(self) -> int:
        """Partitions that a lost worker left to another attempt."""
        return len({ref.partition for ref in self.partitions if ref.attempt > 1})


def status_task_queues(_settings: object) -> list[str]:
    """The queues ``atc status`` describes for this worker kind."""
    return [task_queue()]
