"""Load a drafted module under the Temporal workflow sandbox (a separate, isolated process).

``python -I -m workflows.runtime.sandbox_child MODULE.py`` prints one JSON line:
``{"ok": true, "workflow_type": ..., "workflow_class": ...}`` or
``{"ok": false, "error": ...}``, then ends with ``os._exit`` (temporalio's
native threads may crash interpreter teardown). Exit 0 when the module
loaded, 1 when it did not.

The module is imported (it may define only imports, literals, classes and
functions: the AST allow-list ran first) and its workflow is prepared by
:class:`SandboxedWorkflowRunner` exactly as a worker would at start-up: the
sandbox re-imports it with its import restrictions and builds an instance.

The workflow sandbox exists to keep workflow code deterministic; it is not a
security boundary, and neither is the allow-list. The protection is the
process this runs in: :func:`copilot.drafting.sandbox.sandbox_load` starts it
through :func:`copilot.drafting.isolation.run_isolated` (scrubbed environment,
resource limits, and where available its own namespaces with the data
directory and ``$HOME`` hidden and no network but its own loopback).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

from temporalio import workflow
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from workflows.runtime.loader import load_draft_module


async def _prepare(cls: type) -> None:
    # prepare_workflow needs a running loop: the sandboxed instance binds to it.
    SandboxedWorkflowRunner().prepare_workflow(workflow._Definition.must_from_class(cls))


def main(argv: list[str]) -> dict:
    code = Path(argv[0]).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="atc-sandbox-") as tmp:
        try:
            draft = load_draft_module(code, Path(tmp))
            asyncio.run(_prepare(draft.workflow_class))
        except BaseException as exc:  # noqa: BLE001 - any failure to load is the finding
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
    return {
        "ok": True,
        "workflow_type": draft.workflow_type,
        "workflow_class": draft.workflow_class.__name__,
    }


if __name__ == "__main__":
    result = {"ok": False, "error": "the sandbox check did not finish"}
    try:
        result = main(sys.argv[1:])
    finally:
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0 if result.get("ok") else 1)
