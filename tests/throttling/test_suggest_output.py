"""`atc suggest --bundle`: the estate's warnings, unmodelled parts and current replays reach the
text and the JSON output; a shared flow alone is input, not an error."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import atc
from tests.throttling.test_bundle_estate import ESTATE
from tests.throttling.test_replay_current import traffic, write_logs


def test_json_carries_warnings_unmodelled_and_each_limit_replayed(tmp_path: Path) -> None:
    logs = write_logs(tmp_path / "logs.csv", traffic(minutes=10))
    proc = atc("suggest", str(logs), "--bundle", str(ESTATE), "--json")
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    assert body["ok"] is True
    assert any("SA-Shadow" in w for w in body["warnings"])
    assert {u["policy"] for u in body["unmodelled"]} >= {"SA-Orphan", "RQ-Reset", "SA-Unused"}
    replays = {(e["bundle"], e["policy"]): e for e in body["current_replays"]}
    assert replays[("payments", "SA-PerKey")]["identity"] == "api_key"
    assert replays[("payments", "SA-PerKey")]["rejected"] == 0  # 8 a minute per key under 10pm
    assert replays[("sf-limits", "Q-PerDeveloper")]["rejected"] is None
    assert replays[("sf-global", "SA-Global")]["proxy"] == "payments"  # via the flow hook
    assert ("payments", "Q-Enforce + Q-Count") in replays
    policies = {p["name"]: p for p in body["current_policies"]}
    assert policies["SA-PerIP"]["bundle_kind"] == "sharedflow"
    assert (
        policies["SA-PerIP"]["attachments"][0]["via"] == "FlowCallout FC-Limits in proxy payments"
    )


def test_text_lists_the_replays_and_the_warnings(tmp_path: Path) -> None:
    logs = write_logs(tmp_path / "logs.csv", traffic(minutes=10))
    proc = atc("suggest", str(logs), "--bundle", str(ESTATE))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Current limits replayed" in out and "sf-limits/SA-PerIP" in out
    assert "Warnings" in out and "request.queryparam.test" in out
    assert "Not modelled" in out and "SA-Orphan" in out


def test_a_shared_flow_bundle_alone_is_read(tmp_path: Path) -> None:
    logs = write_logs(tmp_path / "logs.csv", traffic(minutes=3))
    proc = atc(
        "suggest", str(logs), "--bundle", str(ESTATE / "sharedflows" / "sf-limits"), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    assert {u["policy"] for u in body["unmodelled"]} == {"SA-PerIP", "Q-PerDeveloper"}
