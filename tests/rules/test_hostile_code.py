"""A corpus of hostile modules: the code rules refuse every one, and none is ever loaded.

Each file in tests/fixtures/hostile_code is (mostly) a rendered module with one
small hostile edit; its header names the technique, a phrase the second lock's
finding must contain (``expect``), and what runs the payload (``runs``: the
import, the input dataclass, a step method, or ``never`` when the harm is not
code run in the worker: an activity outside the scopes, a leak, or text that
does not even parse). Payloads write a marker file at a placeholder path that
each test replaces with its own temporary path.

The renderer's own output for every spec the tests use passes every code rule,
sandbox load included: no false positives.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from copilot.drafting.render import render
from copilot.drafting.sandbox import SandboxResult, sandbox_load
from copilot.drafting.spec import WorkflowSpec, parse_spec
from copilot.drafting.validate import code_context, validate_code
from copilot.rules import get_rule, wf105_sandbox_load
from copilot.rules._ast_limits import MAX_CODE_BYTES
from copilot.scopes import Catalog
from tests.drafting import specs
from tests.paths import FIXTURES, ROOT

pytestmark = pytest.mark.slow  # loads every hostile module in a sandboxed child process

CORPUS = FIXTURES / "hostile_code"
MARKER = "/tmp/ATC_HOSTILE_MARKER"
PADDING = "# ATC_HOSTILE_PADDING"
_HEADER = re.compile(r"^# (technique|expect|runs): (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Hostile:
    """One module of the corpus, with its placeholders still in."""

    name: str
    technique: str
    expect: str
    runs: str
    source: str

    def code(self, marker: Path) -> str:
        """The module as a test sees it: its own marker path, padding made real."""
        code = self.source.replace(MARKER, str(marker))
        return code.replace(PADDING, ("#" * 99 + "\n") * (MAX_CODE_BYTES // 100 + 1))


def _corpus() -> list[Hostile]:
    out = []
    for path in sorted(CORPUS.glob("*.py")):
        source = path.read_bytes().decode("utf-8", "surrogatepass")
        head = dict(_HEADER.findall(source[:1000]))
        out.append(Hostile(path.stem, head["technique"], head["expect"], head["runs"], source))
    return out


HOSTILE = _corpus()


@pytest.fixture(scope="module")
def spec() -> WorkflowSpec:
    return parse_spec(specs.flagship())


def test_the_corpus_holds_at_least_45_modules_one_technique_each() -> None:
    assert len(HOSTILE) >= 45
    assert len({h.technique for h in HOSTILE}) == len(HOSTILE)
    for hostile in HOSTILE:
        assert hostile.source.startswith("# technique: "), hostile.name
        assert hostile.runs in ("import", "input", "never") or hostile.runs.startswith("_step_")
        assert hostile.runs == "never" or MARKER in hostile.source, hostile.name


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.name)
def test_the_code_rules_refuse_every_hostile_module(
    hostile: Hostile, spec: WorkflowSpec, catalog: Catalog, tmp_path: Path
) -> None:
    code = hostile.code(tmp_path / "marker")
    found = validate_code(code, catalog, specs.FLAGSHIP_SCOPES, spec=spec, sandbox=False)
    assert "WF100" in {f.rule_id for f in found if f.is_error}


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.name)
def test_wf101_and_wf102_alone_refuse_every_hostile_module(
    hostile: Hostile, spec: WorkflowSpec, catalog: Catalog, tmp_path: Path
) -> None:
    ctx = code_context(hostile.code(tmp_path / "marker"), catalog, specs.FLAGSHIP_SCOPES, spec=spec)
    found = [f for rule_id in ("WF101", "WF102") for f in get_rule(rule_id).run(ctx)]
    assert found and all(f.is_error and "fix:" in f.message for f in found)
    assert any(hostile.expect in f.message for f in found), [f.message for f in found]


def test_no_hostile_module_is_ever_loaded_by_the_code_rules(
    spec: WorkflowSpec, catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every code rule runs, WF105 included, with the real loading child.

    That child normally runs in namespaces that hide /tmp, where no marker could
    ever be seen; here it runs with rlimits only, so a load that ran a payload
    would leave its marker, and every load is recorded.
    """
    loads: list[str] = []

    def load_in_sight(code: str, *args: Any, **kwargs: Any) -> SandboxResult:
        loads.append(code)
        return sandbox_load(code, backend="rlimits")

    monkeypatch.setattr(wf105_sandbox_load, "sandbox_load", load_in_sight)
    for hostile in HOSTILE:
        code = hostile.code(tmp_path / f"{hostile.name}.marker")
        found = validate_code(code, catalog, specs.FLAGSHIP_SCOPES, spec=spec, sandbox=True)
        assert "WF100" in {f.rule_id for f in found}, hostile.name
    assert loads == []
    assert sorted(p.name for p in tmp_path.glob("*.marker")) == []
    # The control: had WF105 loaded one, its marker would be there.
    live = next(h for h in HOSTILE if h.runs == "import")
    load_in_sight(live.code(tmp_path / "control.marker"))
    assert (tmp_path / "control.marker").exists()


def exercise(jobs_file: str) -> None:
    """Child process only: import each module outside any sandbox and run its payload."""
    for job in json.loads(Path(jobs_file).read_text()):
        try:
            spec = importlib.util.spec_from_file_location(job["module"], job["path"])
            module = importlib.util.module_from_spec(spec)
            sys.modules[job["module"]] = module
            spec.loader.exec_module(module)
            if job["runs"] != "import":
                data = module.HoldLargeOrdersInput(order_id="ORD-1", amount=1.0)
            if job["runs"].startswith("_step_"):
                workflow = module.HoldLargeOrdersWorkflow()
                asyncio.run(getattr(workflow, job["runs"])(data))
        except BaseException:  # noqa: BLE001 - the payload runs first; what follows may fail
            pass


def test_every_live_module_really_writes_its_marker_when_run_unguarded(tmp_path: Path) -> None:
    """The control for the test above: without the rules, these payloads do run."""
    jobs: list[dict[str, Any]] = []
    for hostile in HOSTILE:
        if hostile.runs == "never":
            continue
        path = tmp_path / f"atc_hostile_{hostile.name}.py"
        code = hostile.code(tmp_path / f"{hostile.name}.marker")
        path.write_bytes(code.encode("utf-8", "surrogatepass"))
        jobs.append({"module": path.stem, "path": str(path), "runs": hostile.runs})
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    command = (
        "import sys; from tests.rules.test_hostile_code import exercise; exercise(sys.argv[1])"
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-c", command, str(tmp_path / "jobs.json")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    missing = [j["module"] for j in jobs if not (tmp_path / f"{j['module'][12:]}.marker").exists()]
    assert len(jobs) >= 45 and missing == []


_VARIED = {
    "name": "varied_shapes",
    "description": "Every kind of step the renderer writes.",
    "inputs": [
        {"name": "order_id", "type": "string", "example": "ORD-1"},
        {"name": "limit", "type": "integer", "required": False, "default": -3},
        {"name": "ratio", "type": "number", "required": False, "default": -0.5},
        {"name": "urgent", "type": "boolean", "required": False, "default": True},
        {"name": "note", "type": "string", "required": False, "default": None},
    ],
    "steps": [
        {"id": "both", "kind": "parallel", "steps": ["get_order", "get_customer"]},
        {
            "id": "get_order",
            "kind": "call",
            "operation": "orders.get",
            "params": [{"name": "id", "value": "${inputs.order_id}"}],
            "query": [
                {"name": "expand", "value": "items"},
                {"name": "limit", "value": "${inputs.limit}"},
            ],
            "timeout_s": 30,
        },
        {
            "id": "get_customer",
            "kind": "call",
            "operation": "customers.get",
            "params": [{"name": "id", "value": "C-${inputs.order_id}"}],
            "timeout_s": 30,
        },
        {"id": "pause", "kind": "sleep", "duration_s": 60},
        {
            "id": "is_pending",
            "kind": "branch",
            "condition": {"left": "${steps.get_order.body.status}", "op": "contains", "right": "p"},
            "if_true": "tell",
            "if_false": "end",
        },
        {
            "id": "tell",
            "kind": "notify",
            "operation": "notifications.send_sms",
            "body": [
                {"name": "to", "value": "${steps.get_customer.body.phone}"},
                {
                    "name": "text.body",
                    "value": "Order ${inputs.order_id} is ${steps.get_order.body.status} "
                    "(${inputs.ratio}, ${inputs.urgent})",
                },
            ],
            "timeout_s": 30,
            "retry": {"max_attempts": 2, "backoff": 1.5},
        },
    ],
    "execution_timeout_s": 3600,
}
VARIED_SCOPES = ("customers.read", "notifications.send", "orders.read")


def _renderer_cases() -> list[tuple[str, dict[str, Any], tuple[str, ...]]]:
    scopes = specs.FLAGSHIP_SCOPES
    cases = [
        ("flagship", specs.flagship(), scopes),
        ("minimal", specs.minimal(), scopes),
        ("polled", specs.polled(), scopes),
        ("varied", _VARIED, VARIED_SCOPES),
    ]
    for silence in (None, "stop", "escalate", "fail", "reject", "approve"):
        cases.append((f"gated-{silence}", specs.gated(silence), scopes))
    for path in sorted((FIXTURES / "llm").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if path.stem != "injection_everywhere":  # refused by the schema: nothing renders
            cases.append((path.stem, doc, scopes))
    return cases


@pytest.mark.parametrize(
    ("doc", "scopes"),
    [pytest.param(doc, scopes, id=name) for name, doc, scopes in _renderer_cases()],
)
def test_the_renderers_output_passes_every_code_rule(
    doc: dict[str, Any], scopes: tuple[str, ...], catalog: Catalog
) -> None:
    spec = parse_spec(doc)
    code = render(spec, scopes)
    found = validate_code(code, catalog, scopes, spec=spec, sandbox=True)
    assert [f for f in found if f.is_error] == []
