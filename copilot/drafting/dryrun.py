"""Dry runs from the caller's side: build the request, run the harness in a subprocess.

The rendered (or edited) module is imported only in the child process
(``python -I -m workflows.drafts.dryrun``), never in the caller's, so the
CLI and the dashboard never execute drafted code. The child gets a minimal
environment (no API keys). Its report is trusted when it was completely
written, even if the interpreter then crashed at exit (temporalio's native
threads, sdk-python#300); a child that wrote nothing is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.drafting.spec import ApprovalStep, WorkflowSpec

DEFAULT_TIMEOUT_S = 180.0
_SAMPLES = {"string": "sample", "integer": 1, "number": 1.0, "boolean": False}


@dataclass
class DryRunReport:
    """What the dry run did: per scenario the path, calls and result."""

    ok: bool
    error: str | None = None
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    gateway: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "error": self.error,
            "duration_s": self.duration_s,
            "scenarios": self.scenarios,
            "gateway": self.gateway,
        }

    def failures(self) -> list[str]:
        """One line per failed scenario (or the harness error)."""
        out = [f"dry run failed: {self.error}"] if self.error else []
        out += [
            f"scenario {s['name']}: {s.get('error') or 'did not complete'}"
            for s in self.scenarios
            if not s.get("completed")
        ]
        return out


def sample_inputs(spec: WorkflowSpec) -> dict[str, Any]:
    """The workflow input for a dry run: each field's example, else default, else a sample."""
    inputs = {}
    for f in spec.inputs:
        value = f.example if f.example is not None else f.default
        if value is None:
            value = f"sample-{f.name}" if f.type == "string" else _SAMPLES[f.type]
        if f.type == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)
        if f.type == "number" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        inputs[f.name] = value
    return inputs


def scenarios_for(spec: WorkflowSpec) -> list[dict[str, Any]]:
    """Approve everything; with approvals also reject everything and answer nothing.

    In ``no-answer`` every approval times out, so the run shows what each one
    states for silence (stop, escalate to its step, ...); ``on_timeout`` names it
    per approval, for the report's reader.
    """
    approvals = [s for s in spec.steps if isinstance(s, ApprovalStep)]
    if not approvals:
        return [{"name": "run", "answers": {}}]
    return [
        {"name": "approve", "answers": {"*": "approve"}},
        {"name": "reject", "answers": {"*": "reject"}},
        {
            "name": "no-answer",
            "answers": {"*": "timeout"},
            "on_timeout": {s.id: s.timeout_action() for s in approvals},
        },
    ]


def child_env() -> dict[str, str]:
    """The environment of child processes: enough to run, no secrets."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    return {k: os.environ[k] for k in keep if k in os.environ}


def dry_run(
    code: str,
    spec: WorkflowSpec,
    *,
    products: str | Path,
    scopes: tuple[str, ...] | list[str],
    inputs: dict[str, Any] | None = None,
    scenarios: list[dict[str, Any]] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> DryRunReport:
    """Run ``code`` on the time-skipping test server in a child process."""
    request = {
        "code": code,
        "products": str(Path(products).resolve()),
        "scopes": sorted(scopes),
        "inputs": sample_inputs(spec) if inputs is None else inputs,
        "scenarios": scenarios or scenarios_for(spec),
        "execution_timeout_s": spec.execution_timeout_s,
    }
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="atc-dry-run-") as tmp:
        request_path, report_path = Path(tmp) / "request.json", Path(tmp) / "report.json"
        request_path.write_text(json.dumps(request), encoding="utf-8")
        command = [sys.executable, "-I", "-m", "workflows.drafts.dryrun"]
        try:
            proc = subprocess.run(
                [*command, str(request_path), str(report_path)],
                cwd=tmp,
                env=child_env(),
                capture_output=True,
                text=True,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired:
            return DryRunReport(False, f"the dry run did not finish within {timeout_s:.0f} s")
        report = _read_report(report_path)
        if report is None:
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-3:]
            detail = " | ".join(tail) or "no output"
            return DryRunReport(False, f"the dry-run process exited {proc.returncode}: {detail}")
    return DryRunReport(
        ok=bool(report.get("ok")),
        error=report.get("error"),
        scenarios=report.get("scenarios", []),
        gateway=report.get("gateway", []),
        duration_s=round(time.monotonic() - started, 3),
    )


def _read_report(path: Path) -> dict[str, Any] | None:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) and report.get("complete") else None
