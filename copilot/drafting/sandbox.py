"""Loading drafted code under the Temporal sandbox, in an isolated child process (rule WF105).

The caller never imports the code. The Temporal workflow sandbox only keeps
workflow code deterministic; it is not a security boundary (the temporalio
SDK says so), and neither is the AST allow-list that ran first. So the child
runs through :func:`copilot.drafting.isolation.run_isolated`: a scrubbed
environment, resource limits, and where the machine allows, its own network,
mount and pid namespaces with the data directory, ``$HOME`` and ``/tmp``
hidden. :attr:`SandboxResult.isolation` says which isolation ran. The child's
one JSON line is trusted even when the interpreter crashes at exit afterwards
(temporalio's native threads can crash interpreter teardown); a child that
printed nothing is a failure, reported with its stderr tail.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from copilot.drafting.isolation import run_isolated

TIMEOUT_S = 60.0


@dataclass(frozen=True)
class SandboxResult:
    """Whether the module loaded, and which isolation the loading child ran under."""

    ok: bool
    error: str | None = None
    workflow_type: str | None = None
    isolation: str = "none"


def sandbox_load(
    code: str, timeout_s: float = TIMEOUT_S, *, backend: str = "auto"
) -> SandboxResult:
    """Load ``code`` under the workflow sandbox in an isolated child process."""
    with tempfile.TemporaryDirectory(prefix="atc-sandbox-") as tmp:
        path = Path(tmp) / "draft_workflow.py"
        path.write_text(code, encoding="utf-8")
        command = [sys.executable, "-I", "-m", "workflows.runtime.sandbox_child", str(path)]
        run = run_isolated(command, workdir=Path(tmp), timeout_s=timeout_s, backend=backend)
    if run.timed_out:
        return SandboxResult(
            False, f"loading took longer than {timeout_s:.0f} s", isolation=run.isolation
        )
    for line in reversed(run.stdout.strip().splitlines()):
        try:
            result = json.loads(line)
        except ValueError:
            continue
        if isinstance(result, dict) and "ok" in result:
            return SandboxResult(
                bool(result["ok"]),
                result.get("error"),
                result.get("workflow_type"),
                isolation=run.isolation,
            )
    tail = " | ".join(run.stderr.strip().splitlines()[-3:]) or "no output"
    return SandboxResult(
        False, f"the sandbox process exited {run.returncode}: {tail}", isolation=run.isolation
    )
