"""`atc analyze`: the CLI contract (exit codes, one-line errors, JSON shape)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import atc
from tests.paths import FIXTURES, LOGS

pytestmark = pytest.mark.slow  # runs `atc` in subprocesses


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


def test_the_429_accounting_is_stated_in_text_and_json() -> None:
    text = atc("analyze", str(LOGS / "analytics_export.csv"))
    body = json.loads(atc("analyze", str(LOGS / "analytics_export.csv"), "--json").stdout)
    classes = body["status_classes"]
    assert classes["gateway_429"] == 1  # the SpikeArrest refusal of the fixture
    assert sum(v for k, v in classes.items() if k != "backend_429") == body["records"]
    statement = "4xx and 5xx exclude requests refused by the gateway's own SpikeArrest/Quota"
    assert body["notes"][0].startswith(statement)
    assert f"Note: {statement}" in text.stdout
    assert "Status classes: ok" in text.stdout and "gateway_429 1" in text.stdout


def test_a_policy_xml_template_file_and_logs_without_paths(tmp_path: Path) -> None:
    policy = FIXTURES / "real" / "logging"
    policy = policy / "apigee-samples_cloud-logging_ML-CloudLogging.xml"
    entry = {
        "insertId": "a1",
        "logName": "projects/acme/logs/apigee",
        "timestamp": "2025-11-16T10:00:00.500Z",
        "jsonPayload": {
            "organization": "acme",
            "proxy": "orders",
            "verb": "GET",
            "response.code": "429",
            "response.reason": "Too Many Requests",
        },
    }
    log = tmp_path / "entries.jsonl"
    log.write_text(json.dumps(entry) + "\n")
    proc = atc("analyze", str(log), "--template-file", str(policy))
    assert proc.returncode == 0, proc.stderr
    assert "endpoints unavailable: the logs carry no request path" in proc.stdout
    body = json.loads(atc("analyze", str(log), "--template-file", str(policy), "--json").stdout)
    assert body["endpoints"] == [] and body["status_classes"]["4xx"] == 1
