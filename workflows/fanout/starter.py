"""Start a fan-out analysis and wait for it: what ``atc analyze --temporal`` does.

The merged document is read back from the shared directory (checksum
checked) and returned as the body ``atc analyze --json`` prints; the
workflow's own result is references only.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError, FailureError

from copilot import errors
from workflows.fanout.shared import (
    SUGGEST_PREFIX,
    WORKFLOW_PREFIX,
    FanoutInput,
    FanoutResult,
    FileRef,
)
from workflows.fanout.workflows import FanoutAnalysisWorkflow


def atc_error(exc: BaseException) -> errors.AtcError:
    """The atc error a failed run stands for: its ApplicationError's type names the class."""
    cause: BaseException | None = exc
    while isinstance(cause, FailureError) and not isinstance(cause, ApplicationError):
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        kind = getattr(errors, cause.type or "", None)
        if isinstance(kind, type) and issubclass(kind, errors.AtcError):
            return kind(cause.message)
    return errors.TemporalError(f"the fan-out analysis failed: {exc}")


def fanout_input(paths: list[Path], shared_dir: Path, **options: Any) -> FanoutInput:
    """A FanoutInput with absolute paths (workers may run in another directory)."""
    absolute = [str(Path(p).expanduser().absolute()) for p in paths]
    return FanoutInput(absolute, str(Path(shared_dir).expanduser().absolute()), **options)


async def start(client: Client, data: FanoutInput, queue: str) -> WorkflowHandle:
    return await client.start_workflow(
        FanoutAnalysisWorkflow.run,
        data,
        id=f"{WORKFLOW_PREFIX if data.collect is None else SUGGEST_PREFIX}{uuid.uuid4().hex[:16]}",
        task_queue=queue,
        result_type=FanoutResult,
    )


def load_checked(ref: FileRef) -> bytes:
    """A file the run wrote, checked against the checksum the run returned."""
    body = Path(ref.path).read_bytes()
    if hashlib.sha256(body).hexdigest() != ref.sha256:
        raise errors.TemporalError(f"{ref.path}: changed since the run wrote it")
    return body


def load_merged(result: FanoutResult) -> dict[str, Any]:
    """The merged document (analysis, or suggest's), checked against its checksum."""
    merged = result.merged
    return json.loads(load_checked(FileRef(merged.path, merged.sha256, merged.bytes)))


def load_text(result: FanoutResult) -> str:
    """``atc suggest``'s text rendering of the run, checked against its checksum."""
    if result.merged.text is None:
        raise errors.TemporalError("the run wrote no text rendering (not a suggest run)")
    return load_checked(result.merged.text).decode("utf-8")


async def require_pollers(client: Client, queue: str, *, grace_s: float = 5.0) -> None:
    """Refuse to start a run nobody would pick up (it would wait for ever).

    A worker that has just started may not have reached the server with its
    first poll yet, so the check looks again for ``grace_s`` before refusing.
    """
    from copilot.estate.status import POLLER_FRESH_S, _pollers

    deadline = asyncio.get_running_loop().time() + grace_s
    while not await _pollers(client, queue):
        if asyncio.get_running_loop().time() >= deadline:
            raise errors.TemporalError(
                f"no worker polls task queue {queue!r} (none seen in the last"
                f" {POLLER_FRESH_S:.0f} s): start one with `atc worker fanout` (docs/fanout.md)"
            )
        await asyncio.sleep(0.25)


async def run_fanout(
    client: Client, data: FanoutInput, queue: str, *, check_pollers: bool = False
) -> tuple[FanoutResult, dict[str, Any], WorkflowHandle]:
    """Run one fan-out analysis to its end: (result, merged document, handle)."""
    if check_pollers:
        await require_pollers(client, queue)
    handle = await start(client, data, queue)
    try:
        result: FanoutResult = await handle.result()
    except WorkflowFailureError as exc:
        raise atc_error(exc.cause) from None
    return result, load_merged(result), handle


async def history_bytes(handle: WorkflowHandle) -> int:
    """The size of a run's event history as the server keeps it (protobuf bytes)."""
    history = await handle.fetch_history()
    return sum(event.ByteSize() for event in history.events)
