"""The fan-out activities: plan the partitions, read one partition, merge the partials
(or, for ``atc suggest`` and report runs, merge them and build the advice).

Each is synchronous (file reading, NumPy) and runs on the worker's thread
pool. ``partition`` reads its partition as pieces (``copilot.fanout.pieces``)
and heartbeats after every chunk; after every piece, the heartbeat lists the
pieces written. A worker killed mid-partition is noticed within the heartbeat
timeout and whichever worker polls next goes on from the last piece the
server heard of. Each partial is written to a temporary name and renamed,
keyed by piece id and content hash, so a retry never double-counts. Only the
references the workflow collected (one per piece) are merged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from copilot import failpoints
from copilot.commands._output import to_json
from copilot.errors import AtcError
from copilot.fanout import merge_files, plan_paths, run_partition
from copilot.fanout.local import PartitionDone, suggest_files
from copilot.fanout.partial import PartialFile
from copilot.fanout.partition import Partition
from copilot.fanout.pieces import split_pieces
from copilot.logs.reader import ReadOptions
from copilot.throttling.run import SuggestRun
from workflows.fanout import shared

MERGED_FILE = "analysis.json"
SUGGEST_FILE = "suggest.json"
SUGGEST_TEXT = "suggest.txt"
REJECTS_FILE = "rejects.jsonl"


def identity() -> str:
    """This worker process, as Temporal's default client identity spells it."""
    return f"{os.getpid()}@{socket.gethostname()}"


def _stop(exc: AtcError) -> ApplicationError:
    # The type is the atc error's class name: the starter raises the same class.
    return ApplicationError(exc.message, type=type(exc).__name__, non_retryable=True)


def read_options(spec: shared.ReadSpec) -> ReadOptions:
    columns = tuple(spec.csv_columns) if spec.csv_columns else None
    return ReadOptions(fmt=spec.fmt, template=spec.template, csv_columns=columns)


@activity.defn(name=shared.PLAN_ACTIVITY)
def plan(data: shared.PlanInput) -> list[shared.PartitionSpec]:
    """Split the files into partitions (0 asks for one per file)."""
    try:
        wanted = data.partitions or len(data.paths)
        parts = plan_paths(data.paths, wanted, read_options(data.read))
    except AtcError as exc:
        raise _stop(exc) from None
    return [shared.PartitionSpec(**dataclasses.asdict(p)) for p in parts]


@activity.defn(name=shared.PARTITION_ACTIVITY)
def partition(data: shared.PartitionInput) -> list[shared.PartialRef]:
    """Read one partition piece by piece, writing each piece's partial under the run directory.

    After each piece the heartbeat lists the pieces done; a retry (the worker was
    lost) takes them from the last heartbeat that reached the server, checks their
    files, and reads only the rest.
    """
    part = Partition(**dataclasses.asdict(data.partition))
    options = read_options(data.read)
    pieces = split_pieces(part, data.piece_bytes, headerless=options.csv_columns is not None)
    done = resumed(activity.info().heartbeat_details, pieces)
    activity.heartbeat(_progress(part, done, 0))
    for piece in pieces[len(done) :]:

        def on_chunk(n: int) -> None:
            activity.heartbeat(_progress(part, done, n))
            failpoints.hit(f"fanout.partition.chunk{n}")

        try:
            read = run_partition(
                piece, Path(data.run_dir), options,
                keep_rejects=data.keep_rejects, on_chunk=on_chunk, collect=data.collect,
            )  # fmt: skip
        except AtcError as exc:
            raise _stop(exc) from None
        done.append(_ref(part, piece, read))
        activity.heartbeat(_progress(part, done, 0))
        failpoints.hit(f"fanout.partition.piece{len(done)}")
    return done


def _ref(part: Partition, piece: Partition, done: PartitionDone) -> shared.PartialRef:
    p, req = done.partial, done.requests
    return shared.PartialRef(
        part.id, p.path, p.sha256, p.bytes, done.records, done.rejected, done.chunks,
        identity(), activity.info().attempt,
        None if req is None else shared.FileRef(req.path, req.sha256, req.bytes), piece.id,
    )  # fmt: skip


def _progress(part: Partition, done: list[shared.PartialRef], chunks: int) -> dict[str, Any]:
    return {"partition": part.id, "chunks": chunks, "done": [dataclasses.asdict(d) for d in done]}


def resumed(details: Sequence[Any], pieces: list[Partition]) -> list[shared.PartialRef]:
    """The pieces an earlier attempt finished, from its last heartbeat's details.

    Only a prefix of ``pieces`` whose files are still there with the checksums the
    heartbeat recorded counts; anything else is read again.
    """
    last = details[-1] if details else None
    listed = last.get("done", []) if isinstance(last, dict) else []
    out: list[shared.PartialRef] = []
    for piece, item in zip(pieces, listed, strict=False):
        try:
            ref = shared.PartialRef(**{**item, "requests": None})
            files = [shared.FileRef(ref.path, ref.sha256, ref.bytes)]
            if item.get("requests"):
                ref.requests = shared.FileRef(**item["requests"])
                files.append(ref.requests)
        except TypeError:
            break
        if ref.piece != piece.id or not all(_intact(f) for f in files):
            break
        out.append(ref)
    return out


def _intact(ref: shared.FileRef) -> bool:
    try:
        return hashlib.sha256(Path(ref.path).read_bytes()).hexdigest() == ref.sha256
    except OSError:
        return False


def _publish(run_dir: Path, name: str, body: bytes) -> shared.FileRef:
    """Write ``body`` as ``run_dir/name`` (temporary name, then renamed); its reference."""
    out = run_dir / name
    tmp = run_dir / f".{name}.{os.getpid()}.tmp"
    tmp.write_bytes(body)
    os.replace(tmp, out)
    return shared.FileRef(str(out), hashlib.sha256(body).hexdigest(), len(body))


def _fresh_rejects(run_dir: Path, wanted: str | None) -> Path | None:
    rejects = run_dir / REJECTS_FILE if wanted else None
    if rejects is not None:
        rejects.unlink(missing_ok=True)  # a retried merge starts the file again
    return rejects


@activity.defn(name=shared.MERGE_ACTIVITY)
def merge(data: shared.MergeInput) -> shared.MergedRef:
    """Merge the partials the workflow collected; write the analysis document beside them."""
    run_dir = Path(data.run_dir)
    rejects = _fresh_rejects(run_dir, data.quarantine_file)
    partials = [PartialFile(r.path, r.sha256, r.bytes) for r in data.refs]
    try:
        run = merge_files(partials, data.sources, rejects)
    except AtcError as exc:
        raise _stop(exc) from None
    if data.quarantine_file:
        run.quarantine.path = Path(data.quarantine_file)  # shown as the caller asked
    out = _publish(run_dir, MERGED_FILE, to_json(run.to_dict()).encode("utf-8"))
    return shared.MergedRef(
        out.path, out.sha256, out.bytes, run.quarantine.records, str(rejects) if rejects else None
    )


def _done(ref: shared.PartialRef) -> PartitionDone:
    req = ref.requests
    return PartitionDone(
        PartialFile(ref.path, ref.sha256, ref.bytes), ref.records, ref.rejected, ref.chunks,
        None if req is None else PartialFile(req.path, req.sha256, req.bytes),
    )  # fmt: skip


@activity.defn(name=shared.SUGGEST_ACTIVITY)
def suggest(data: shared.SuggestInput) -> shared.MergedRef:
    """Merge collecting partitions and build the advice; write ``atc suggest``'s JSON and text.

    The advice runs here, one proxy's merged requests at a time (docs/fanout.md,
    "Memory"); what travels back is the two files' references.
    """
    from copilot.commands.suggest import render_text
    from copilot.throttling.options import DEFAULT_HEADROOM

    run_dir = Path(data.run_dir)
    rejects = _fresh_rejects(run_dir, data.quarantine_file)
    headroom = DEFAULT_HEADROOM if data.headroom is None else data.headroom
    try:
        run = suggest_files([_done(r) for r in data.refs], data.sources, headroom, rejects)
    except AtcError as exc:
        raise _stop(exc) from None
    if data.quarantine_file:
        run.quarantine.path = Path(data.quarantine_file)
    if data.documents:
        return _report_documents(run_dir, run, rejects)
    body = {**run.to_dict(), "policies_out": {}}  # as `atc suggest --json` with no --policies-out
    out = _publish(run_dir, SUGGEST_FILE, to_json(body).encode("utf-8"))
    text = _publish(run_dir, SUGGEST_TEXT, render_text(run, data.top, {}).encode("utf-8"))
    return shared.MergedRef(
        out.path, out.sha256, out.bytes, run.quarantine.records,
        str(rejects) if rejects else None, text,
    )  # fmt: skip


def _report_documents(run_dir: Path, run: SuggestRun, rejects: Path | None) -> shared.MergedRef:
    """A report run's three documents (``copilot.reports.documents``), each by reference."""
    from copilot.reports.documents import encode, report_documents

    refs = {
        kind: _publish(run_dir, f"report-{kind}.json", encode(doc))
        for kind, doc in report_documents(run).items()
    }
    main = refs["suggest"]
    return shared.MergedRef(
        main.path, main.sha256, main.bytes, run.quarantine.records,
        str(rejects) if rejects else None, documents=refs,
    )  # fmt: skip


ALL = [plan, partition, merge, suggest]
