"""Dry runs from the caller's side: build the request, run the harness in an isolated child.

The rendered (or edited) module is imported only in the child process
(``python -I -m workflows.runtime.dryrun_child``), never in the caller's, so the
CLI and the dashboard never execute drafted code. The child runs through
:func:`copilot.drafting.isolation.run_isolated` (scrubbed environment,
resource limits, and where available its own namespaces: only its own
loopback, the data directory and ``$HOME`` hidden); the report's
``isolation`` says which ran. The product file is copied into the child's
working directory, so nothing outside it needs to be readable. The report is
trusted when it was completely written, even if the interpreter then crashed
at exit (temporalio's native threads can crash interpreter teardown); a
child that wrote nothing is a failure, reported with its stderr tail.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.drafting.branches import branch_scenarios, coverage, default_answers
from copilot.drafting.isolation import run_isolated, scrubbed_env
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
    isolation: str = "none"
    branches: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "error": self.error,
            "duration_s": self.duration_s,
            "isolation": self.isolation,
            "scenarios": self.scenarios,
            "gateway": self.gateway,
            "branches": self.branches,
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
    """Approve everything; with approvals also reject everything and answer nothing; then
    each side of every branch (:mod:`copilot.drafting.branches`).

    In ``no-answer`` every approval times out, so the run shows what each one
    states for silence (stop, escalate to its step, ...); ``on_timeout`` names it
    per approval, for the report's reader. The mock backend's default answers
    end every poll and take every branch's true side.
    """
    answers = default_answers(spec)
    return [{**s, **answers} for s in _approval_scenarios(spec)] + branch_scenarios(spec)


def _approval_scenarios(spec: WorkflowSpec) -> list[dict[str, Any]]:
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
    """The environment of child processes: enough to run, no secrets (an allow-list)."""
    return scrubbed_env()


def dry_run(
    code: str,
    spec: WorkflowSpec,
    *,
    products: str | Path,
    scopes: tuple[str, ...] | list[str],
    inputs: dict[str, Any] | None = None,
    scenarios: list[dict[str, Any]] | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    backend: str = "auto",
) -> DryRunReport:
    """Run ``code`` on the time-skipping test server in an isolated child process."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="atc-dry-run-") as tmp:
        workdir = Path(tmp)
        try:  # a copy inside the working directory: the child needs nothing else readable
            shutil.copyfile(products, workdir / "products.json")
        except OSError as exc:
            return DryRunReport(False, f"cannot read the product file {products}: {exc.strerror}")
        request = {
            "code": code,
            "products": str(workdir / "products.json"),
            "scopes": sorted(scopes),
            "inputs": sample_inputs(spec) if inputs is None else inputs,
            "scenarios": scenarios or scenarios_for(spec),
            "execution_timeout_s": spec.execution_timeout_s,
        }
        (workdir / "request.json").write_text(json.dumps(request), encoding="utf-8")
        command = [sys.executable, "-I", "-m", "workflows.runtime.dryrun_child"]
        command += [str(workdir / "request.json"), str(workdir / "report.json")]
        run = run_isolated(command, workdir=workdir, timeout_s=timeout_s, backend=backend)
        report = None if run.timed_out else _read_report(workdir / "report.json")
    if run.timed_out:
        error = f"the dry run did not finish within {timeout_s:.0f} s"
        return DryRunReport(False, error, isolation=run.isolation)
    if report is None:
        tail = (run.stderr or run.stdout or "").strip().splitlines()[-3:]
        detail = " | ".join(tail) or "no output"
        error = f"the dry-run process exited {run.returncode}: {detail}"
        return DryRunReport(False, error, isolation=run.isolation)
    return DryRunReport(
        ok=bool(report.get("ok")),
        error=report.get("error"),
        scenarios=report.get("scenarios", []),
        gateway=report.get("gateway", []),
        duration_s=round(time.monotonic() - started, 3),
        isolation=run.isolation,
        branches=coverage(spec, report.get("scenarios", [])),
    )


def _read_report(path: Path) -> dict[str, Any] | None:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) and report.get("complete") else None
