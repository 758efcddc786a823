"""`atc rules list` and `atc rules check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copilot.drafting.render import render
from copilot.drafting.spec import parse_spec
from tests.cli import run_cli
from tests.drafting.specs import FLAGSHIP_SCOPES, flagship

SCOPES = ",".join(FLAGSHIP_SCOPES)


def test_rules_list_shows_every_rule(capsys) -> None:
    code, out, _ = run_cli(capsys, "rules", "list")
    assert code == 0
    for rule_id in ("WF001", "WF003", "WF101", "WF105", "WF201"):
        assert rule_id in out
    code, out, _ = run_cli(capsys, "rules", "list", "--json")
    rules = json.loads(out)["rules"]
    assert [r["id"] for r in rules] == sorted(r["id"] for r in rules)
    assert {"id", "name", "severity", "stages", "summary"} <= set(rules[0])


def test_rules_check_on_a_spec(capsys, tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(flagship()))
    assert run_cli(capsys, "rules", "check", "--spec", str(spec), "--scopes", SCOPES)[0] == 0
    code, out, _ = run_cli(
        capsys, "rules", "check", "--spec", str(spec), "--scopes", "orders.read", "--json"
    )
    assert code == 3 and {f["rule_id"] for f in json.loads(out)["findings"]} == {"WF003"}


def test_rules_check_takes_a_spec_never_code(capsys, tmp_path: Path) -> None:
    code_path = tmp_path / "workflow.py"
    code_path.write_text(render(parse_spec(flagship()), FLAGSHIP_SCOPES))
    argv = ["rules", "check", "--spec", str(code_path), "--code", str(code_path)]
    code, _, err = run_cli(capsys, *argv, "--scopes", SCOPES)
    assert code == 2 and "unrecognized arguments: --code" in err
    code, _, err = run_cli(capsys, "rules", "check", "--spec", str(code_path), "--scopes", SCOPES)
    assert code == 3  # a module is not a spec: WF001, and nothing is loaded


def test_rules_check_needs_a_spec(capsys) -> None:
    code, _, err = run_cli(capsys, "rules", "check", "--scopes", SCOPES)
    assert code == 2 and "--spec" in err


@pytest.mark.parametrize(
    ("command", "actions"),
    [
        ("rules", "list, check"),
        ("runs", "list, show, decide"),
        ("drafts", "list, show, diff, approve, reject, comment, edit"),
    ],
)
def test_a_command_without_its_action_names_the_actions(
    capsys: pytest.CaptureFixture[str], command: str, actions: str
) -> None:
    code, _, err = run_cli(capsys, command)
    assert code == 2 and err.strip() == f"UsageError: atc {command}: choose an action: {actions}"
