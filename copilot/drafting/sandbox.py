"""Loading drafted code under the Temporal sandbox, in a child process (rule WF105).

The caller never imports the code. The child runs with ``python -I`` (no
user site, no PYTHON* variables) and a minimal environment (no API keys),
in a scratch directory. Its one JSON line is trusted even when the
interpreter crashes at exit afterwards (temporalio's native threads,
sdk-python#300); a child that printed nothing is a failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from copilot.drafting.dryrun import child_env

TIMEOUT_S = 60.0


@dataclass(frozen=True)
class SandboxResult:
    ok: bool
    error: str | None = None
    workflow_type: str | None = None


def sandbox_load(code: str, timeout_s: float = TIMEOUT_S) -> SandboxResult:
    """Load ``code`` under the workflow sandbox in a child process."""
    with tempfile.TemporaryDirectory(prefix="atc-sandbox-") as tmp:
        path = Path(tmp) / "draft_workflow.py"
        path.write_text(code, encoding="utf-8")
        command = [sys.executable, "-I", "-m", "workflows.drafts.sandbox_check", str(path)]
        try:
            proc = subprocess.run(
                command,
                cwd=tmp,
                env=child_env(),
                capture_output=True,
                text=True,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired:
            return SandboxResult(False, f"loading took longer than {timeout_s:.0f} s")
    for line in reversed(proc.stdout.strip().splitlines()):
        try:
            result = json.loads(line)
        except ValueError:
            continue
        if isinstance(result, dict) and "ok" in result:
            return SandboxResult(
                bool(result["ok"]), result.get("error"), result.get("workflow_type")
            )
    tail = " | ".join((proc.stderr or "").strip().splitlines()[-3:]) or "no output"
    return SandboxResult(False, f"the sandbox process exited {proc.returncode}: {tail}")
