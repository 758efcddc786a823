"""Policy XML out: apigeelint accepts the generated bundles, and atc checks what it does not
(rate strings, TimeUnit, quota type, StartTime)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from copilot.errors import InputError
from copilot.throttling.policies_xml import (
    bundle_files,
    client_condition,
    quota_xml,
    spike_arrest_xml,
    write_bundles,
    zip_bundles,
)
from copilot.throttling.rates import QUOTA_TYPES, TIME_UNITS, is_valid_rate
from tests.apigeelint import lint_errors, require_apigeelint
from tests.throttling.conftest import BUNDLES


@pytest.fixture(scope="module")
def apigeelint() -> Path:
    return require_apigeelint()


@pytest.mark.slow
def test_every_generated_bundle_lints_clean(apigeelint: Path, sample_run, tmp_path: Path) -> None:
    written = write_bundles(sample_run.report.bundles, tmp_path)
    assert set(written) == {s.proxy for s in sample_run.report.suggestions}
    for proxy, bundle in written.items():
        code, errors = lint_errors(bundle)
        assert errors == [], f"{proxy}: {errors}"
        assert code == 0, f"{proxy}: apigeelint exited {code}"


@pytest.mark.slow
@pytest.mark.parametrize("proxy", ["orders", "catalog"])
def test_the_current_policy_fixtures_lint_clean(apigeelint: Path, proxy: str) -> None:
    assert lint_errors(BUNDLES / proxy / "apiproxy") == (0, [])


def test_generated_policies_have_valid_rates_units_and_types(sample_run) -> None:
    policies = 0
    for files in sample_run.report.bundles.values():
        for name, text in files.items():
            if not name.startswith("policies/"):
                continue
            root = ET.fromstring(text)
            policies += 1
            assert root.get("name") == Path(name).stem
            if root.tag == "SpikeArrest":
                assert is_valid_rate(root.findtext("Rate")), root.findtext("Rate")
                assert root.findtext("UseEffectiveCount") in ("true", "false")
            else:
                assert root.tag == "Quota"
                assert root.findtext("TimeUnit") in TIME_UNITS
                assert int(root.findtext("Interval")) >= 1
                assert int(root.find("Allow").get("count")) >= 1
                assert root.get("type", "default") in QUOTA_TYPES
                assert root.findtext("Distributed") == "true"
                if root.get("type") == "calendar":
                    assert len(root.findtext("StartTime")) == len("2026-11-16 00:00:00")
    assert policies == len(sample_run.report.suggestions)


def test_every_policy_is_attached_by_a_step_in_flow_order(sample_run) -> None:
    files = sample_run.report.bundles["catalog"]
    endpoint = ET.fromstring(files["proxies/default.xml"])
    steps = [s.findtext("Name") for s in endpoint.iter("Step")]
    descriptor = next(v for k, v in files.items() if "/" not in k)
    listed = [p.text for p in ET.fromstring(descriptor).iter("Policy")]
    assert steps == listed
    assert {f"policies/{s}.xml" for s in steps} == {k for k in files if k.startswith("policies/")}
    kinds = [ET.fromstring(files[f"policies/{s}.xml"]).tag for s in steps]
    assert kinds.index("Quota") > max(i for i, k in enumerate(kinds) if k == "SpikeArrest")
    assert steps[0] == "SA-catalog"  # the proxy-wide limit first
    conditions = {s.findtext("Name"): s.findtext("Condition") for s in endpoint.iter("Step")}
    assert conditions["SA-App-dealfinder-app"] == 'client_id = "dmJvDfN5JGyvqIRU4Y2NPjB7IpcnIzow"'


def test_a_current_policy_keeps_its_name(sample_run) -> None:
    # SA-Global already protects orders: the suggestion rewrites it rather than adding another.
    assert "policies/SA-Global.xml" in sample_run.report.bundles["orders"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: spike_arrest_xml("SA", "10pd"), "must look like"),
        (lambda: spike_arrest_xml("SA", "0pm"), "must look like"),
        (lambda: quota_xml("Q", 10, time_unit="hours"), "TimeUnit"),
        (lambda: quota_xml("Q", 10, quota_type="sliding"), "type"),
        (lambda: quota_xml("Q", 0, start_time="2026-01-01 00:00:00"), "positive"),
        (lambda: quota_xml("Q", 10, quota_type="calendar"), "StartTime"),
        (lambda: client_condition('a" or "1" = "1'), "safely"),
    ],
)
def test_malformed_values_are_refused(call, message: str) -> None:
    with pytest.raises(InputError, match=message):
        call()


def test_values_are_escaped() -> None:
    xml = spike_arrest_xml('SA-<x>&"y"', "5pm", identifier='request.header."k"')
    root = ET.fromstring(xml)
    assert (
        root.get("name") == 'SA-<x>&"y"'
        and root.find("Identifier").get("ref") == 'request.header."k"'
    )


def test_bundles_zip_and_write_the_same_files(tmp_path: Path) -> None:
    files = bundle_files("orders", [("SA-orders", spike_arrest_xml("SA-orders", "60pm"), None)])
    import zipfile, io  # noqa: E401, I001 - local to this test

    names = zipfile.ZipFile(io.BytesIO(zip_bundles({"orders": files}))).namelist()
    written = write_bundles({"orders": files}, tmp_path)["orders"]
    on_disk = sorted(p.relative_to(tmp_path).as_posix() for p in written.rglob("*.xml"))
    assert sorted(names) == on_disk
