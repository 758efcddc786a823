"""The drafted-workflow worker of one approved version, run inside an isolated child.

``python -I -m workflows.runs.draft_child CONFIG.json`` (working directory:
the child's own). CONFIG holds the re-rendered, hash-checked code, the
version's workflow type and task queue, and the Temporal connection (address,
namespace and, for a TLS cluster or Temporal Cloud, its credentials, deleted
once read): no gateway key, no token, no data directory (those are hidden). It
registers the workflow only, never an activity, so drafted code can reach
nothing but Temporal: every call it asks for is an activity task that the
trusted activity worker runs, or refuses.

It writes ``ready`` (with the namespace ids it sees, for the parent to
compare with its own) once it polls, and stops when ``stop`` appears or
when the parent stops touching ``alive`` (the parent died: a ``kill -9``
cannot take this child with it).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import time
from pathlib import Path

from temporalio import workflow
from temporalio.worker import Worker

from copilot.temporal_connect import connect_with
from workflows.runtime.child import exit_after
from workflows.runtime.loader import load_draft_module

NAMESPACES = ("user", "net", "mnt", "pid", "ipc", "uts")
PARENT_SILENCE_S = 15.0


def rename_workflow(cls: type, name: str) -> None:
    """Register ``cls`` under ``name`` (the approved version's own workflow type)."""
    defn = workflow._Definition.must_from_class(cls)
    setattr(cls, "__temporal_workflow_definition", dataclasses.replace(defn, name=name))


def _seen() -> dict:
    ns = {n: os.stat(f"/proc/self/ns/{n}").st_ino for n in NAMESPACES}
    return {"ns": ns, "uid": os.getuid(), "pid": os.getpid()}


def _should_stop(workdir: Path) -> bool:
    if (workdir / "stop").exists():
        return True
    try:
        return time.time() - (workdir / "alive").stat().st_mtime > PARENT_SILENCE_S
    except OSError:
        return True


async def serve(cfg: dict, workdir: Path) -> None:
    draft = load_draft_module(cfg["code"], workdir / "module")
    rename_workflow(draft.workflow_class, cfg["workflow_type"])
    client = await connect_with(cfg["connection"])
    worker = Worker(client, task_queue=cfg["task_queue"], workflows=[draft.workflow_class])
    async with worker:
        (workdir / "ready").write_text(json.dumps(_seen()), encoding="utf-8")
        while not _should_stop(workdir):
            await asyncio.sleep(0.5)


def main(argv: list[str]) -> int:
    workdir = Path.cwd()
    config = workdir / argv[0]
    cfg = json.loads(config.read_text(encoding="utf-8"))
    config.unlink()  # it may hold the namespace's credentials: gone once read
    asyncio.run(serve(cfg, workdir))
    return 0


if __name__ == "__main__":
    exit_after(main, failed=1)
