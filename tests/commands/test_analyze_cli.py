"""`atc analyze`: the CLI contract (exit codes, one-line errors, JSON shape)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "logs"


def atc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from copilot.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_json_output_has_the_contract_keys_and_accounts_for_every_line() -> None:
    proc = atc("analyze", str(LOGS / "analytics_export.csv"), str(LOGS / "syslog.log"), "--json")
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    for key in (
        "ok",
        "error",
        "records",
        "rejected",
        "time_range",
        "proxies",
        "apps",
        "endpoints",
        "anomalies",
    ):
        assert key in body
    assert body["ok"] is True and body["error"] is None
    assert (body["records"], body["rejected"]) == (11, 5)
    assert body["records"] + body["rejected"] == body["lines_read"]
    assert {p["proxy"] for p in body["proxies"]} == {"orders", "catalog", "payments", "customers"}


def test_text_output_is_a_readable_table_with_the_rejected_lines() -> None:
    proc = atc("analyze", str(LOGS / "analytics_export.csv"))
    assert proc.returncode == 0, proc.stderr
    assert "7 records, 3 rejected" in proc.stdout
    assert "Proxies" in proc.stdout and "orders" in proc.stdout
    assert "bad status 'abc'" in proc.stdout


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("not_a_log.bin", "looks binary"),
        ("empty.csv", "is empty"),
        ("notes.txt", "does not look like an Apigee log"),
    ],
)
def test_non_log_files_exit_2_with_one_line(name: str, message: str) -> None:
    proc = atc("analyze", str(LOGS / name))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("LogFormatError: ") and message in lines[0]
    assert "Traceback" not in proc.stderr


def test_non_log_file_with_json_gives_ok_false() -> None:
    proc = atc("analyze", str(LOGS / "not_a_log.bin"), "--json")
    assert proc.returncode == 2
    body = json.loads(proc.stdout)
    assert body["ok"] is False and body["error"].startswith("LogFormatError:")


def test_bad_usage_exits_2() -> None:
    proc = atc("analyze", "--format", "xml", str(LOGS / "syslog.log"))
    assert proc.returncode == 2 and proc.stderr.startswith("UsageError:")
    assert atc("frobnicate").returncode == 2
