"""`atc suggest`: the CLI contract (exit codes, one-line errors, JSON shape, policy bundles)."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.cli import atc
from tests.paths import FIXTURES, LOGS
from tests.paths import SAMPLE_LOG as SAMPLE

pytestmark = pytest.mark.slow  # runs `atc` in subprocesses over the 7-day sample

BUNDLES = FIXTURES / "bundles" / "shopco"


@pytest.fixture(scope="module")
def sample_json(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("policies")
    proc = atc(
        "suggest", str(SAMPLE), "--json", "--bundle", str(BUNDLES), "--policies-out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), out


def test_json_has_the_contract_keys(sample_json) -> None:
    body, _ = sample_json
    assert body["ok"] is True and body["error"] is None
    for key in ("suggestions", "forecast", "excluded", "knees", "abusive_clients", "findings",
                "records", "rejected", "policies_out", "current_policies"):  # fmt: skip
        assert key in body
    first = body["suggestions"][0]
    for key in ("target", "policy", "value", "evidence", "replay", "confidence"):
        assert key in first
    assert {s["policy"] for s in body["suggestions"]} == {"spike_arrest", "quota"}
    forecast = body["forecast"][0]
    assert forecast["seasonal_naive_mae"] is not None and forecast["chosen_mae"] is not None
    assert len(forecast["hourly"]) == 168


def test_policies_out_writes_a_bundle_per_proxy(sample_json) -> None:
    body, out = sample_json
    assert set(body["policies_out"]) == {s["proxy"] for s in body["suggestions"]}
    orders = Path(body["policies_out"]["orders"])
    assert orders == out / "orders" / "apiproxy"
    sa = ET.parse(orders / "policies" / "SA-Global.xml").getroot()
    assert sa.tag == "SpikeArrest" and sa.findtext("Rate").endswith("pm")


def test_policies_out_bundles_take_the_input_base_path_and_verify_before_per_app_steps(
    sample_json,
) -> None:
    body, _ = sample_json
    orders = Path(body["policies_out"]["orders"])
    endpoint = ET.parse(orders / "proxies" / "default.xml").getroot()
    assert endpoint.findtext("HTTPProxyConnection/BasePath") == "/v1/orders"  # as in shopco
    assert ET.parse(next(orders.glob("*.xml"))).getroot().get("name") == "orders-limits"
    steps = [s.findtext("Name") for s in endpoint.iter("Step")]
    first_per_app = next(i for i, s in enumerate(endpoint.iter("Step")) if s.findtext("Condition"))
    assert "VA-VerifyAPIKey" in steps[:first_per_app]


def test_policies_out_target_server_is_a_parameter(tmp_path: Path) -> None:
    proc = atc("suggest", str(SAMPLE), "--json", "--policies-out", str(tmp_path),
               "--target-server", "shop-backend")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    servers = {s.get("name") for s in ET.parse(
        tmp_path / "orders" / "apiproxy" / "targets" / "default.xml").getroot().iter("Server")}  # fmt: skip
    assert servers == {"shop-backend"}


def test_text_output_lists_suggestions_conflicts_and_forecast() -> None:
    proc = atc("suggest", str(SAMPLE), "--headroom", "1.5")
    assert proc.returncode == 0, proc.stderr
    for text in ("Suggestions", "capacity, not throttling", "Abusive clients", "dealfinder-app",
                 "Excluded windows", "Forecast of next week", "naive MAE", "headroom 1.5"):  # fmt: skip
        assert text in proc.stdout


@pytest.mark.parametrize(
    ("args", "prefix"),
    [
        (["--headroom", "0.5"], "UsageError:"),
        (["--headroom", "abc"], "UsageError:"),
        (["--bundle", str(LOGS / "notes.txt")], "BundleError:"),
        (["--bundle", "/no/such/bundle"], "BundleError:"),
        (["--verify", "jwt", "--policies-out", "/tmp/x"], "UsageError: --verify jwt needs"),
    ],
)
def test_bad_options_exit_2_with_one_line(args: list[str], prefix: str) -> None:
    proc = atc("suggest", str(LOGS / "analytics_export.csv"), *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix) and "Traceback" not in proc.stderr


def test_a_non_log_file_exits_2_and_json_says_ok_false() -> None:
    proc = atc("suggest", str(LOGS / "not_a_log.bin"), "--json")
    assert proc.returncode == 2
    body = json.loads(proc.stdout)
    assert body["ok"] is False and body["error"].startswith("LogFormatError:")


def test_a_tiny_log_still_answers() -> None:
    proc = atc("suggest", str(LOGS / "analytics_export.csv"), "--json")
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    assert body["ok"] is True and body["records"] == 7
    assert all(s["replay"]["within_rule"] for s in body["suggestions"])


HOSTILE_PROXIES = {"orders": "..", "payments": "../x", "customers": "a/b", "catalog": "C:\\x"}
HOSTILE_APPS = {
    "web-storefront": "\x1b[31mweb\r\nforged line",
    "android-app": "L" * 300,
    "ios-app": "ios\u202eppa",
    "partner-acme": "nul\x00app",
}


@pytest.fixture(scope="module")
def hostile_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small export with proxy and app names that try to escape or repaint."""
    with (LOGS / "analytics_export.csv").open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if None not in r and None not in r.values()]
    lines = []
    for row in rows:
        row["apiproxy"] = HOSTILE_PROXIES.get(row["apiproxy"], row["apiproxy"])
        row["developer_app"] = HOSTILE_APPS.get(row["developer_app"], row["developer_app"])
        lines.append(json.dumps(row))  # JSON carries the NUL and ESC the CSV could not
    path = tmp_path_factory.mktemp("hostile") / "hostile.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_hostile_names_write_only_inside_policies_out(hostile_log: Path, tmp_path: Path) -> None:
    out = tmp_path / "a" / "out"
    proc = atc("suggest", str(hostile_log), "--json", "--policies-out", str(out))
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    assert set(body["policies_out"]) == set(HOSTILE_PROXIES.values())
    files = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert files and all(f.resolve().is_relative_to(out.resolve()) for f in files)
    assert len({Path(p).parent for p in body["policies_out"].values()}) == len(HOSTILE_PROXIES)
    for file in files:
        ET.parse(file)  # well-formed, whatever the names held


def test_text_output_shows_control_characters_as_escapes(hostile_log: Path) -> None:
    proc = atc("suggest", str(hostile_log))
    assert proc.returncode == 0, proc.stderr
    for char in ("\x1b", "\r", "\x00", "\u202e"):
        assert char not in proc.stdout
    assert "\\x1b[31mweb\\r\\nforged line" in proc.stdout and "ios\\u202eppa" in proc.stdout
    assert not any(line.startswith("forged line") for line in proc.stdout.splitlines())


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--bundle", str(BUNDLES)], "--bundle cannot be used with --temporal"),
        (["--policies-out", "OUT"], "--policies-out cannot be used with --temporal"),
        (["--partitions", "-1"], "--partitions must be 0"),
    ],
)
def test_temporal_refuses_what_the_fan_out_does_not_do(
    flags: list[str], says: str, tmp_path: Path
) -> None:
    # Refused before any connection: no Temporal is needed to see it.
    flags = [str(tmp_path / "out") if f == "OUT" else f for f in flags]
    proc = atc("suggest", str(SAMPLE), "--temporal", "--json", *flags)
    body = json.loads(proc.stdout)
    assert proc.returncode == 2 and body["ok"] is False
    assert body["error"].startswith("UsageError: ") and says in body["error"]
    assert not any(tmp_path.iterdir())  # nothing written
