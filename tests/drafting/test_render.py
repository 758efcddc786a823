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

from .specs import FLAGSHIP_SCOPES, flagship

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
    code = render(parse_spec(_hostile_spec()), FLAGSHIP_SCOPES)
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
        f for f in validate_code(code, catalog, FLAGSHIP_SCOPES, sandbox=False) if f.is_error
    ] == []
    assert code.isascii()
    description = next(
        n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "DESCRIPTION"
    )
    assert ast.literal_eval(description) == _hostile_spec()["description"]


def test_the_rendered_module_is_lint_clean_and_formatted(tmp_path: Path) -> None:
    ruff = Path(sys.executable).parent / "ruff"
    if not ruff.exists() and not shutil.which("ruff"):
        pytest.skip("ruff is not installed")
    path = tmp_path / "workflow.py"
    path.write_text(render(parse_spec(flagship()), FLAGSHIP_SCOPES), encoding="utf-8")
    ruff_bin = str(ruff if ruff.exists() else shutil.which("ruff"))
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
