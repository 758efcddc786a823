"""`atc draft` and `atc drafts`: files, JSON contract, exit codes, the review trail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.drafting.specs import FLAGSHIP_REQUEST, FLAGSHIP_SCOPES

SCOPES = ",".join(FLAGSHIP_SCOPES)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ATC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ATC_LLM_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


@pytest.mark.slow
def test_offline_out_of_the_box_writes_a_valid_draft(capsys, tmp_path: Path) -> None:
    out_dir = tmp_path / "draft"
    code, out, _ = run_cli(
        capsys, "draft", FLAGSHIP_REQUEST, "--scopes", SCOPES, "--out", str(out_dir), "--json"
    )
    doc = json.loads(out)
    assert code == 0 and doc["ok"] is True and doc["error"] is None and doc["valid"] is True
    assert doc["draft_id"].startswith("drf_") and doc["findings"] == []
    assert {(o["method"], o["path_template"]) for o in doc["operations"]} == {
        ("POST", "/v1/fulfilment/shipments"),
        ("POST", "/v1/orders/{id}/cancel"),
        ("POST", "/v1/notifications/email"),
    }
    assert doc["llm"] == {
        "planner": "offline",
        "model": None,
        "attempts": 1,
        "prompt_tokens": 0,
        "completion_tokens": 0,
    }
    assert "offline planner, no LLM used" in doc["notes"]
    for name in ("spec", "workflow", "validation"):
        assert Path(doc["files"][name]).is_file()
    saved = json.loads((out_dir / "validation.json").read_text())
    assert saved["valid"] is True and saved["draft_id"] == doc["draft_id"]
    assert all(s["completed"] for s in doc["dry_run"]["scenarios"])
    assert doc["timings_s"]["validation"] > 0
    _, shown, _ = run_cli(capsys, "drafts", "show", doc["draft_id"], "--json")
    spec_hash = json.loads(shown)["version"]["spec_hash"]
    approve = ["drafts", "approve", doc["draft_id"], "--version", "1", "--hash", spec_hash]
    code, out, _ = run_cli(capsys, *approve, "-m", "ship it", "--by", "alice", "--json")
    assert code == 0 and json.loads(out)["draft"]["status"] == "approved"
    assert json.loads(out)["draft"]["approved_spec_hash"] == spec_hash
    code, _, err = run_cli(capsys, "drafts", "reject", *approve[2:], "-m", "oops")
    assert code == 3 and "already approved by alice" in err


def test_an_out_of_scope_draft_exits_3_with_the_rule_and_no_code(capsys, tmp_path: Path) -> None:
    out_dir = tmp_path / "refund"
    code, out, _ = run_cli(
        capsys,
        "draft",
        "Refund the payment",
        "--scopes",
        "orders.read",
        "--out",
        str(out_dir),
        "--json",
    )
    doc = json.loads(out)
    assert code == 3 and doc["ok"] is False and doc["error"].startswith("DraftRejected")
    assert doc["valid"] is False and doc["status"] == "rejected"
    assert [f["rule_id"] for f in doc["findings"]] == ["WF003"]
    assert set(doc["findings"][0]) >= {"rule_id", "severity", "message"}
    assert not (out_dir / "workflow.py").exists() and (out_dir / "spec.json").exists()
    code, out, _ = run_cli(capsys, "drafts", "show", doc["draft_id"], "--json")
    shown = json.loads(out)
    assert shown["draft"]["status"] == "rejected"
    assert shown["draft"]["audit"][-1]["comment"] == "failed validation: WF003"
    spec_hash = shown["version"]["spec_hash"]
    code, _, err = run_cli(
        capsys, "drafts", "approve", doc["draft_id"], "--version", "1", "--hash", spec_hash
    )
    assert code == 3 and "already rejected" in err
    code, _, err = run_cli(capsys, "drafts", "approve", doc["draft_id"])
    assert code == 2 and "--version" in err


def test_text_output_says_no_llm_was_used(capsys, tmp_path: Path) -> None:
    code, out, err = run_cli(
        capsys,
        "draft",
        "Refund the payment",
        "--scopes",
        "orders.read",
        "--out",
        str(tmp_path / "x"),
    )
    assert code == 3 and "note: offline planner, no LLM used" in out and "WF003" in out
    assert err.startswith("DraftRejected:")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["draft", "cancel the order", "--out", "d"], "--scopes is required"),
        (
            ["draft", "cancel the order", "--scopes", "orders.typo", "--out", "d"],
            "holds orders.typo; known scopes:",
        ),
        (["draft", "--scopes", "orders.read", "--out", "d"], "give the request in words"),
        (
            ["draft", "make it nice", "--scopes", "orders.read", "--out", "d"],
            "no operation to call",
        ),
        (["draft", "x", "--scopes", "orders.read"], "--out DIR is required"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv: list[str], message: str) -> None:
    code, out, err = run_cli(capsys, *argv, "--json")
    assert code == 2
    assert message in json.loads(out)["error"]


def test_the_schema_is_printed(capsys) -> None:
    code, out, _ = run_cli(capsys, "draft", "--schema")
    assert code == 0 and json.loads(out)["title"] == "WorkflowSpec"


@pytest.mark.slow
def test_the_installed_command_exits_with_the_contracts_codes(
    tmp_path: Path, data_dir: Path
) -> None:
    env = dict(os.environ, ATC_DATA_DIR=str(data_dir))
    atc = [sys.executable, "-c", "from copilot.cli import main; main()"]
    rejected = subprocess.run(
        [
            *atc,
            "draft",
            "Refund the payment",
            "--scopes",
            "orders.read",
            "--out",
            str(tmp_path / "a"),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert rejected.returncode == 3, rejected.stderr
    valid = subprocess.run(
        [
            *atc,
            "draft",
            "Search the catalog and fetch the product details",
            "--scopes",
            "catalog.read",
            "--out",
            str(tmp_path / "b"),
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert valid.returncode == 0, valid.stderr
    assert json.loads(valid.stdout)["valid"] is True


@pytest.mark.slow
def test_the_openai_planner_is_used_when_an_endpoint_is_configured(
    capsys, tmp_path, monkeypatch
) -> None:
    from copilot.scopes.server import BackgroundServer
    from tests.drafting.fake_llm import FakeLLM, answer
    from tests.drafting.test_openai_planner import fixture

    llm = FakeLLM()
    server = BackgroundServer(llm.app)
    fake = (llm, server.start())
    monkeypatch.setenv("ATC_FAKE_LLM_KEY", "fake-key-123")

    monkeypatch.setenv("ATC_LLM_BASE_URL", fake[1] + "/v1")
    monkeypatch.setenv("ATC_LLM_MODEL", "fake-model")
    monkeypatch.setenv("ATC_LLM_API_KEY_ENV", "ATC_FAKE_LLM_KEY")
    llm.reset(answer(fixture("valid_spec.json"), usage=(321, 123)))
    code, out, _ = run_cli(
        capsys,
        "draft",
        "cancel a stale order after a supervisor says so",
        "--scopes",
        "orders.read,orders.write,notifications.send",
        "--out",
        str(tmp_path / "o"),
        "--json",
    )
    doc = json.loads(out)
    assert code == 0, doc["findings"]
    assert doc["llm"] == {
        "planner": "openai",
        "model": "fake-model",
        "attempts": 1,
        "prompt_tokens": 321,
        "completion_tokens": 123,
    }
    server.stop()
    shown = json.loads(run_cli(capsys, "drafts", "show", doc["draft_id"], "--json")[1])
    assert shown["version"]["model"] == "fake-model" and len(shown["version"]["prompt_hash"]) == 64


def test_logs_are_mined_into_context_without_changing_the_operations(
    capsys, tmp_path: Path
) -> None:
    from tests.drafting.hostile_logs import write_hostile_log

    logs = write_hostile_log(tmp_path / "hostile.csv")
    argv = [
        "draft",
        "Refund the payment",
        "--scopes",
        "orders.read",
        "--out",
        str(tmp_path / "o"),
        "--json",
    ]
    code, out, _ = run_cli(capsys, *argv, "--logs", str(logs))
    doc = json.loads(out)
    assert code == 3 and {s["kind"] for s in doc["suggestions"]} >= {"polling", "retry_storm"}
    code, plain, _ = run_cli(capsys, *argv)
    assert json.loads(plain)["operations"] == doc["operations"]


def test_an_error_quoting_hostile_text_cannot_drive_the_terminal(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATC_DATA_DIR", str(tmp_path))
    code, _, err = run_cli(capsys, "drafts", "show", "drf_\x1b[2J\rforged line")
    assert code == 2 and "\x1b" not in err and "\r" not in err
    assert "drf_\\x1b[2J\\rforged line" in err
