"""The trusted renderer: deterministic bytes, escaped literals, nothing interpolated."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from copilot.drafting.literals import lit
from copilot.drafting.render import render
from copilot.drafting.spec import parse_spec
from copilot.drafting.validate import validate_code
from copilot.scopes import Catalog

from .specs import FLAGSHIP_SCOPES, flagship, gated, polled

HOSTILE = [
    '"); import os; os.system("touch /tmp/pwned") #',
    "'''\nimport os\n'''",
    '"""\n__import__("os").system("id")\n"""',
    "\\\" + __import__('os').getcwd() + \"",
    "${__import__('os')} {0.__class__.__mro__}",
    "bidi \u202e \u2066 trick \u0000 nul \x1b[31m escape",
    "}\n    def run(self): pass\n#",
]


def test_rendering_twice_gives_identical_bytes() -> None:
    spec = parse_spec(flagship())
    first = render(spec, FLAGSHIP_SCOPES).encode("utf-8")
    second = render(parse_spec(flagship()), list(reversed(FLAGSHIP_SCOPES))).encode("utf-8")
    assert first == second


@pytest.mark.parametrize("text", HOSTILE)
def test_every_string_becomes_a_literal_equal_to_the_text(text: str) -> None:
    out = lit(text)
    assert out.isascii() and "\n" not in out
    assert ast.literal_eval(out) == text


def _hostile_spec() -> dict:
    doc = flagship()
    evil = " | ".join(HOSTILE)
    doc["description"] = evil
    for field in doc["inputs"]:
        field["description"] = evil
    doc["inputs"][2]["default"] = evil
    doc["inputs"][0]["example"] = evil
    approval = doc["steps"][2]
    approval["approver"], approval["prompt"] = evil[:200], evil[:900] + " ${inputs.order_id}"
    doc["steps"][1]["condition"]["right"] = evil[:300]
    doc["steps"][5]["body"][1]["value"] = evil[:900]
    doc["steps"][3]["body"][0]["value"] = evil[:900]
    for step in doc["steps"]:
        step["description"] = evil[:500]
    return doc


def test_code_like_text_in_every_free_text_field_stays_data(catalog: Catalog) -> None:
    spec = parse_spec(_hostile_spec())
    code = render(spec, FLAGSHIP_SCOPES)
    tree = ast.parse(code)
    called = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not called & {"__import__", "os.system", "eval", "exec", "getattr"}
    imported = {
        a.name
        for n in ast.walk(tree)
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in n.names
    }
    assert "os" not in imported
    assert [
        f
        for f in validate_code(code, catalog, FLAGSHIP_SCOPES, spec=spec, sandbox=False)
        if f.is_error
    ] == []
    assert code.isascii()
    description = next(
        n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "DESCRIPTION"
    )
    assert ast.literal_eval(description) == _hostile_spec()["description"]


def test_the_rendered_module_is_lint_clean_and_formatted(tmp_path: Path) -> None:
    # ruff is a dev dependency, installed with pytest itself: missing, this test fails.
    ruff = Path(sys.executable).parent / "ruff"
    path = tmp_path / "workflow.py"
    path.write_text(render(parse_spec(flagship()), FLAGSHIP_SCOPES), encoding="utf-8")
    ruff_bin = str(ruff if ruff.exists() else shutil.which("ruff") or ruff)
    check = subprocess.run(
        [ruff_bin, "check", "--isolated", "--select", "E,F,W,I,B", "--ignore", "E501", str(path)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run(
        [ruff_bin, "format", "--isolated", "--line-length", "100", "--check", str(path)],
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout


def test_the_renderer_refuses_what_the_rules_would_reject() -> None:
    from copilot.drafting.spec import WorkflowSpec
    from copilot.errors import SpecError

    doc = flagship()
    doc["steps"][0]["timeout_s"] = None
    with pytest.raises(SpecError, match="no timeout_s"):
        render(parse_spec(doc))
    # model_construct bypasses validation: identifiers are checked again anyway.
    bad = parse_spec(flagship()).model_copy(update={"name": "x; import os"})
    with pytest.raises(SpecError, match="not a safe identifier"):
        render(WorkflowSpec.model_construct(**dict(bad)))


def _step_source(code: str, step: str) -> str:
    tree = ast.parse(code)
    method = next(
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.AsyncFunctionDef) and n.name == f"_step_{step}"
    )
    return ast.unparse(method)


@pytest.mark.parametrize(
    ("on_timeout", "silence"),
    [
        (None, "return self._stop('approval sign_off timed out')"),
        ("stop", "return self._stop('approval sign_off timed out')"),
        ("escalate", "return 'tell_manager'"),
        ("fail", "raise ApplicationError('approval sign_off timed out', non_retryable=True)"),
        ("reject", "return 'cancel_order'"),
        ("approve", "return 'cool_off'"),
    ],
)
def test_silence_does_what_the_spec_states_and_stops_when_it_states_nothing(
    on_timeout, silence: str
) -> None:
    source = _step_source(render(parse_spec(gated(on_timeout)), FLAGSHIP_SCOPES), "sign_off")
    lines = [line.strip() for line in source.splitlines()]
    assert lines[-5:] == [
        "if outcome == 'approve':",
        "return 'cool_off'",
        "if outcome == 'reject':",
        "return 'cancel_order'",
        silence,
    ]


def test_decisions_arrive_only_through_the_validated_update() -> None:
    code = render(parse_spec(flagship()), FLAGSHIP_SCOPES)
    assert "workflow.signal" not in code and "submit_decision" not in code
    tree = ast.parse(code)
    handler = next(
        n for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef) and n.name == "decide"
    )
    # The handler checks again what the validator checked, against the decisions so far.
    assert "check_decision(self._status, decision, self._decisions)" in ast.unparse(handler)


def test_each_call_keeps_only_the_body_paths_later_steps_read() -> None:
    code = render(parse_spec(flagship()), FLAGSHIP_SCOPES)
    assert "keep=('city',)" in _step_source(code, "get_order")
    assert "keep=" not in _step_source(code, "ship")
    doc = polled()
    doc["steps"][1]["body"].append({"name": "eta", "value": "${steps.wait_delivered.body.eta.day}"})
    source = _step_source(render(parse_spec(doc), FLAGSHIP_SCOPES), "wait_delivered")
    assert "keep=('eta.day', 'status')" in source


def test_a_poll_is_one_call_retried_on_its_interval_not_a_loop_of_timers() -> None:
    source = _step_source(render(parse_spec(polled(attempts=7)), FLAGSHIP_SCOPES), "wait_delivered")
    assert "for " not in source and "sleep" not in source
    assert "until=PollUntil(('body', 'status'), 'eq', 'delivered', attempts=7)" in source
    assert (
        "RetryPolicy(initial_interval=timedelta(seconds=60.0), backoff_coefficient=1.0, "
        "maximum_interval=timedelta(seconds=60.0), maximum_attempts=7)"
    ) in source


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["steps"][1].update(on_timeout="escalate"), "names no step in on_timeout_next"),
        (
            lambda d: d["steps"][0]["poll"]["until"].update(left="${inputs.shipment_id}"),
            "must be one reference to this step's result",
        ),
    ],
)
def test_the_renderer_refuses_silence_or_polls_it_cannot_render(change, message: str) -> None:
    from copilot.errors import SpecError

    doc = gated("stop") if "on_timeout" in message or "on_timeout_next" in message else polled()
    change(doc)
    with pytest.raises(SpecError, match=message):
        render(parse_spec(doc))


@pytest.mark.parametrize(
    "doc", [gated("stop"), gated("escalate"), gated("fail"), polled()], ids=lambda d: d["name"]
)
def test_every_shape_renders_to_code_the_code_rules_accept(doc, catalog: Catalog) -> None:
    spec = parse_spec(doc)
    code = render(spec, FLAGSHIP_SCOPES)
    found = validate_code(code, catalog, FLAGSHIP_SCOPES, spec=spec, sandbox=False)
    assert [f for f in found if f.is_error] == []
    assert render(parse_spec(doc), FLAGSHIP_SCOPES) == code
