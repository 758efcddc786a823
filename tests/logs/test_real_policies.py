"""Real logging policies from Google's public samples, rendered as Apigee would, read by atc.

Each policy in tests/fixtures/real/logging (see its ATTRIBUTION.md) is taken as
it is: its message template is extracted from the XML, every ``{variable}``
is replaced by a value (``escapeJSON`` escapes, values with spaces and JSON),
and the result is written the way it reaches a log: a Cloud Logging LogEntry
(``jsonPayload`` from the JSON message) or an rsyslog line (``#012`` for the
template's newlines). atc must read the fields the policy logs, analyse per
proxy, and say what it cannot compute.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from copilot.logs.reader import ReadOptions, read_logs
from copilot.logs.templates import template_from_policy
from copilot.pipeline import analyze_paths
from tests.paths import FIXTURES

REAL = FIXTURES / "real" / "logging"
ML_SAMPLE = REAL / "apigee-samples_cloud-logging_ML-CloudLogging.xml"
ML_SSE = REAL / "apigee-samples_llm-sse-logging_ML-Response-Logging.xml"
SC_DEVREL = REAL / "devrel_cloud-logging-shared-flow_SC.CloudLogging.xml"
T0 = 1763287200000  # 2025-11-16T10:00:00Z
_PLACEHOLDER = re.compile(r"\{(?:(escapeJSON)\()?([A-Za-z0-9_.\-]+)\)?\}")


def render(template: str, values: dict[str, str]) -> str:
    """Apigee's rendering: each {variable} becomes its value ('' when unset)."""

    def value(match: re.Match[str]) -> str:
        text = values.get(match.group(2), "")
        return json.dumps(text)[1:-1] if match.group(1) else text

    return _PLACEHOLDER.sub(value, template)


def requests(n: int) -> list[dict[str, str]]:
    """Flow variables of ``n`` requests on two proxies, some refused, some failing."""
    out = []
    for i in range(n):
        proxy = "orders-v1" if i % 3 else "payments-v2"
        status = [200, 200, 201, 404, 429, 503][i % 6]
        start = T0 + i * 1_500
        out.append(
            {
                "organization.name": "acme-prod",
                "environment.name": "prod",
                "apiproxy.name": proxy,
                "apiproxy.revision": "7",
                "apiproduct.name": "gold plan",
                "client_id": f"key{i % 4}",
                "developer.id": "dev-1",
                "request.verb": "POST" if status == 201 else "GET",
                "request.uri": f"/{proxy}/items/{1000 + i}?expand=all",
                "request.url": f"https://api.acme.example/{proxy}/items/{1000 + i}",
                "messageid": f"rrt-{i}",
                "client.received.start.timestamp": str(start),
                "client.received.end.timestamp": str(start + 2),
                "target.sent.end.timestamp": str(start + 5),
                "target.received.end.timestamp": str(start + 80),
                "client.sent.start.timestamp": str(start + 85),
                "client.sent.end.timestamp": str(start + 90),
                "message.status.code": str(status),
                "response.status.code": str(status),
                "message.reason.phrase": {429: "Too Many Requests", 503: "Service Unavailable"}.get(
                    status, "OK"
                ),
                "message.content": json.dumps({"error": "quota", "detail": "try later"})
                if status >= 400
                else '{"id": 1}',
                # the sample's JavaScript escapes the streamed text before it is logged
                "response_full": 'data: {\\"text\\": \\"hello world\\"}\\n\\n',
                "fault.name": "",
            }
        )
    return out


def log_entry(payload: dict[str, Any], log_name: str, epoch_ms: int) -> dict[str, Any]:
    """A LogEntry as Cloud Logging stores it (and ``gcloud logging read`` prints it)."""
    stamp = pd.Timestamp(epoch_ms + 40, unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "insertId": f"id{epoch_ms}",
        "jsonPayload": payload,
        "logName": log_name,
        "receiveTimestamp": stamp,
        "resource": {"labels": {"project_id": "acme-prod"}, "type": "api"},
        "severity": "INFO",
        "timestamp": stamp,
    }


def write_entries(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return path


def cloud_logging_file(policy: Path, tmp_path: Path, n: int) -> tuple[Path, str]:
    template = template_from_policy(policy.read_text())
    entries = []
    for values in requests(n):
        body = json.loads(render(template, values))
        if "entries" in body:  # a ServiceCallout to entries:write: the entry is inside
            entry = body["entries"][0]
            payload, log_name = entry["jsonPayload"], render(body["logName"], values)
        else:
            payload, log_name = body, "projects/acme-prod/logs/apigee"
        entries.append(log_entry(payload, log_name, int(values["client.received.start.timestamp"])))
    return write_entries(tmp_path / f"{policy.stem}.jsonl", entries), template


@pytest.mark.parametrize("policy", sorted(REAL.glob("*.xml")), ids=lambda p: p.stem)
def test_every_real_policy_yields_a_template_with_the_proxy(policy: Path) -> None:
    template = template_from_policy(policy.read_text())
    assert "{apiproxy.name}" in template


def test_googles_cloud_logging_sample_is_analysed_per_proxy_without_endpoints(
    tmp_path: Path,
) -> None:
    path, template = cloud_logging_file(ML_SAMPLE, tmp_path, 60)
    frame, q = read_logs([path], ReadOptions(template=template))
    assert (q.records, q.rejected) == (60, 0)
    first = frame.iloc[0]
    assert (first["proxy"], first["verb"], first["status"]) == ("payments-v2", "GET", 200)
    assert (first["organization"], first["environment"]) == ("acme-prod", "prod")
    # no path, no client time in the template: the path is null, the time is the entry's
    assert frame["path"].isna().all()
    assert first["ts"] == pd.Timestamp(T0 + 40, unit="ms", tz="UTC")
    run = analyze_paths([path], ReadOptions(template=template)).to_dict()
    assert {p["proxy"]: p["requests"] for p in run["proxies"]} == {
        "orders-v1": 40,
        "payments-v2": 20,
    }
    assert run["endpoints"] == []
    assert "no request path" in run["unavailable"]["endpoints"]
    assert any("endpoints unavailable" in note for note in run["notes"])
    assert run["status_classes"]["4xx"] == 20 and run["status_classes"]["5xx"] == 10


def test_the_same_template_sent_over_syslog_reads_the_same_fields(tmp_path: Path) -> None:
    template = template_from_policy(ML_SAMPLE.read_text())
    lines = []
    for values in requests(12):
        message = render(template, values).replace("\n", "#012")  # rsyslog's escape
        stamp = pd.Timestamp(int(values["client.received.start.timestamp"]), unit="ms", tz="UTC")
        lines.append(f"<134>1 {stamp.isoformat()} mp-1 apigee - - - {message}")
    path = tmp_path / "ml.log"
    path.write_text("\n".join(lines) + "\n")
    frame, q = read_logs([path], ReadOptions(template=template))
    assert (q.records, q.rejected) == (12, 0), q.samples
    entries, _ = cloud_logging_file(ML_SAMPLE, tmp_path, 12)
    via_cloud, _ = read_logs([entries], ReadOptions(template=template))
    for column in ("proxy", "verb", "status", "organization", "environment"):
        assert frame[column].astype(str).tolist() == via_cloud[column].astype(str).tolist()


def test_devrels_shared_flow_keys_map_back_to_flow_variables(tmp_path: Path) -> None:
    path, template = cloud_logging_file(SC_DEVREL, tmp_path, 30)
    frame, q = read_logs([path], ReadOptions(template=template))
    assert (q.records, q.rejected) == (30, 0)
    first = frame.iloc[0]
    assert first["proxy"] == "payments-v2"  # logged as "apiProxy"
    assert first["path"] == "/payments-v2/items/1000"  # "requestUri", query dropped
    assert first["status"] == 200  # "proxyResponseCode"
    assert first["ts"] == pd.Timestamp(T0, unit="ms", tz="UTC")  # "clientReceived"
    assert first["total_ms"] == 90.0  # clientReceived .. proxyResponseSent
    assert first["client_id"] == "key0"
    run = analyze_paths([path], ReadOptions(template=template)).to_dict()
    assert run["unavailable"] == {}
    assert {e["path"] for e in run["endpoints"]} == {
        "/orders-v1/items/{id}",
        "/payments-v2/items/{id}",
    }


def test_a_policy_logging_only_the_proxy_still_counts_requests_and_says_the_rest_is_unknown(
    tmp_path: Path,
) -> None:
    path, template = cloud_logging_file(ML_SSE, tmp_path, 9)
    frame, q = read_logs([path], ReadOptions(template=template))
    assert q.records == 9
    assert frame["status"].isna().all() and frame["verb"].isna().all()
    run = analyze_paths([path], ReadOptions(template=template)).to_dict()
    assert sum(p["requests"] for p in run["proxies"]) == 9
    assert run["status_classes"]["unknown"] == 9 and run["status_classes"]["ok"] == 0
    assert any("no logged status" in note for note in run["notes"])
    assert run["endpoints"] == [] and "endpoints" in run["unavailable"]


def test_without_the_template_the_teams_key_names_are_not_guessed(tmp_path: Path) -> None:
    path, _ = cloud_logging_file(ML_SSE, tmp_path, 3)
    from copilot.errors import LogFormatError

    with pytest.raises(LogFormatError, match="missing apiproxy"):
        read_logs([path])
