"""Hostile edits through every entry point a person has: none is stored as code, none runs.

The corpus of hostile modules (tests/fixtures/hostile_code, see
tests/rules/test_hostile_code.py for what each one tries) is offered to
every way a person can change a draft: the CLI's ``drafts edit`` (which takes
a spec, never code), ``rules check`` (the same), and the store itself, which
refuses any version whose code is not the renderer's output for its spec.
Hostile *specs* — text meant to break out of the renderer's literals — go
through ``edit_spec``: rendered, validated, dry-run in isolation; the code
is always exactly the renderer's, and no marker file ever appears.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from copilot.cli import run
from copilot.drafting.render import render
from copilot.drafting.service import edit_spec
from copilot.drafting.spec import WorkflowSpec
from copilot.drafting.store import DraftStore, NewVersion
from copilot.errors import PolicyDenied
from copilot.scopes import DEFAULT_PRODUCTS
from tests.drafting.specs import minimal
from tests.rules.test_hostile_code import HOSTILE, Hostile

pytestmark = pytest.mark.slow  # renders and loads every hostile edit in a child process

SCOPES = ("orders.read",)


@pytest.fixture
def draft(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[DraftStore, str]:
    monkeypatch.setenv("ATC_DATA_DIR", str(tmp_path / "data"))
    store = DraftStore.in_data_dir(tmp_path / "data")
    spec = WorkflowSpec.model_validate(minimal())
    version = NewVersion(spec.to_json(), render(spec, SCOPES), [], True)
    return store, store.create("get an order", list(SCOPES), str(DEFAULT_PRODUCTS), version, "bob")


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = run(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
def test_a_hostile_module_is_refused_by_every_entry_point(
    hostile: Hostile,
    draft: tuple[DraftStore, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store, draft_id = draft
    marker = tmp_path / "marker"
    module = tmp_path / "workflow.py"
    module.write_text(hostile.code(marker), encoding="utf-8", errors="surrogatepass")
    # The CLI has no way to take code: both commands refuse the option outright.
    assert _cli(capsys, "drafts", "edit", draft_id, "--code", str(module))[0] == 2
    rules = ["rules", "check", "--scopes", "orders.read"]
    assert _cli(capsys, *rules, "--code", str(module))[0] == 2
    # Given as a spec, a module is not JSON: refused before anything is stored or rendered.
    code, err = _cli(capsys, "drafts", "edit", draft_id, "--spec", str(module))
    assert code == 2 and ("not JSON" in err or "larger than" in err), err
    assert _cli(capsys, *rules, "--spec", str(module))[0] == 3
    # The store, the one place versions are written, refuses code the renderer did not make.
    current = store.version(draft_id)
    smuggled = NewVersion(current["spec_json"], hostile.code(marker), [], True)
    with pytest.raises(PolicyDenied, match="never code"):
        store.add_version(draft_id, smuggled, "mallory", "edit")
    assert [v["version"] for v in store.get(draft_id)["versions"]] == [1]
    assert not marker.exists()


# (technique, the error rules it must meet (none: valid, rendered as plain literals), change)
BREAKOUTS: list[tuple[str, set[str], dict[str, Any]]] = [
    ("triple quotes in the description", set(), {"description": '"""\nimport os\nos.system("touch MARKER")\n"""'}),
    ("backslash-newline in a value", {"WF201"}, {"steps": [{**minimal()["steps"][0], "params": [{"name": "id", "value": "\\\nimport os #"}]}]}),
    ("unicode line separators", set(), {"description": "x\u2028import os\u2029os.system('touch MARKER')"}),
    ("f-string braces", set(), {"description": "{__import__('os').system('touch MARKER')}"}),
    ("a reference into a dunder", {"WF008"}, {"steps": [{**minimal()["steps"][0], "params": [{"name": "id", "value": "${inputs.__class__}"}]}]}),
    ("a keyword as a step id", {"WF001"}, {"steps": [{**minimal()["steps"][0], "id": "import"}]}),
    ("a path as an operation", {"WF001"}, {"steps": [{**minimal()["steps"][0], "operation": "../../etc/passwd"}]}),
    ("a URL as an operation", {"WF001"}, {"steps": [{**minimal()["steps"][0], "operation": "http://evil.example/x"}]}),
    ("code in an input default", {"WF201"}, {"inputs": [{"name": "order_id", "type": "string", "default": "');import os;os.system('touch MARKER');('", "required": False}]}),
    ("an extra field the schema does not know", {"WF001"}, {"code": "import os"}),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    ("technique", "errors", "change"), BREAKOUTS, ids=[b[0] for b in BREAKOUTS]
)
def test_a_hostile_spec_edit_renders_only_literals_and_runs_nothing(
    technique: str,
    errors: set[str],
    change: dict[str, Any],
    draft: tuple[DraftStore, str],
    tmp_path: Path,
) -> None:
    store, draft_id = draft
    marker = tmp_path / "marker"
    doc = json.loads(json.dumps({**minimal(), **change}).replace("MARKER", str(marker)))
    outcome = edit_spec(store, draft_id, doc, "mallory")
    assert {f.rule_id for f in outcome.findings if f.is_error} == errors
    assert outcome.valid is (not errors)
    version = store.version(draft_id, outcome.version)
    if version["code"] is not None:
        spec = WorkflowSpec.model_validate_json(version["spec_json"])
        assert version["code"] == render(spec, SCOPES)
    assert not marker.exists(), technique
