"""Policy XML in: current SpikeArrest and Quota policies from a bundle directory or zip."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from copilot.errors import BundleError, InputError
from copilot.throttling.bundle import read_bundles
from tests.throttling.conftest import BUNDLES


def _zip(src: Path, dest: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(dest, "w") as archive:
        for file in sorted(src.rglob("*")):
            if file.is_file():
                archive.write(file, prefix + file.relative_to(src).as_posix())
    return dest


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _by_name(policies) -> dict:
    return {(p.proxy, p.name): p for p in policies}


def test_reads_every_throttling_policy_from_a_folder_of_bundles() -> None:
    found = _by_name(read_bundles(BUNDLES))
    assert set(found) == {
        ("orders", "SA-Global"),
        ("orders", "Q-PerApp"),
        ("catalog", "SA-PerApp"),
        ("catalog", "Q-PerApp"),
    }
    sa = found[("orders", "SA-Global")]
    assert (sa.kind, sa.rate, sa.use_effective_count, sa.identifier) == (
        "SpikeArrest", "15pm", True, None,
    )  # fmt: skip
    assert not sa.per_client and sa.unconditional
    assert sa.attached == ("proxies/default.xml / PreFlow[PreFlow] / Request",)
    per_app = found[("catalog", "SA-PerApp")]
    assert per_app.per_client and per_app.rate == "6pm"
    quota = found[("catalog", "Q-PerApp")]
    assert (quota.allow, quota.interval, quota.time_unit, quota.quota_type) == (
        60, 1, "hour", "calendar",
    )  # fmt: skip
    assert quota.allow_ref.endswith("apiproduct.developer.quota.limit")
    assert quota.conditions == ("request.header.x-api-key != null",)
    assert "fallback 60" in quota.value_text()


@pytest.mark.parametrize("prefix", ["", "orders-rev12/"])
def test_reads_a_zipped_bundle(tmp_path: Path, prefix: str) -> None:
    archive = _zip(BUNDLES / "orders", tmp_path / "orders.zip", prefix)
    found = _by_name(read_bundles(archive))
    assert set(found) == {("orders", "SA-Global"), ("orders", "Q-PerApp")}
    assert found[("orders", "SA-Global")].source.startswith(str(archive))


def test_reads_an_apiproxy_directory_and_a_folder_of_zips(tmp_path: Path) -> None:
    assert {p.name for p in read_bundles(BUNDLES / "catalog" / "apiproxy")} == {
        "SA-PerApp",
        "Q-PerApp",
    }
    _zip(BUNDLES / "catalog", tmp_path / "catalog.zip")
    assert {p.proxy for p in read_bundles(tmp_path)} == {"catalog"}


def test_a_step_condition_can_single_out_a_client(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    shutil.copytree(BUNDLES / "catalog", root)
    endpoint = root / "apiproxy" / "proxies" / "default.xml"
    endpoint.write_text(
        endpoint.read_text().replace(
            "<Name>SA-PerApp</Name>",
            '<Name>SA-PerApp</Name>\n        <Condition>client_id = "key-9"</Condition>',
        )
    )
    policy = _by_name(read_bundles(root))[("catalog", "SA-PerApp")]
    assert policy.for_client == "key-9" and not policy.unconditional


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing", "no such file"),
        (lambda d: _write(d / "x.zip", b"not a zip"), "not a zip"),
        (lambda d: d, "no apiproxy/ or sharedflowbundle/ bundle"),
    ],
)
def test_unreadable_bundles_raise_bundle_errors(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(BundleError, match=message):
        read_bundles(make(tmp_path))


def test_malformed_policy_xml_names_the_file(tmp_path: Path) -> None:
    root = tmp_path / "orders"
    shutil.copytree(BUNDLES / "orders", root)
    (root / "apiproxy" / "policies" / "SA-Global.xml").write_text("<SpikeArrest name='x'>")
    with pytest.raises(BundleError, match="SA-Global.xml: not well-formed"):
        read_bundles(root)


SPIKE = b'<SpikeArrest name="SA-x"><Rate>5pm</Rate></SpikeArrest>'


def _crafted(dest: Path, entries: dict[str, bytes]) -> Path:
    """A zip with entry names as given (zipfile writes them unchanged)."""
    with zipfile.ZipFile(dest, "w") as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data)
    return dest


@pytest.mark.parametrize(
    "entry",
    [
        "../apiproxy/policies/SA-x.xml",
        "orders/../../apiproxy/policies/SA-x.xml",
        "/etc/apiproxy/policies/SA-x.xml",
        "C:/apiproxy/policies/SA-x.xml",
        "orders\\..\\..\\apiproxy\\policies\\SA-x.xml",
        "apiproxy/policies/../../../SA-x.xml",
    ],
)
def test_zip_entries_that_climb_out_are_refused(tmp_path: Path, entry: str) -> None:
    archive = _crafted(tmp_path / "evil.zip", {entry: SPIKE})
    assert zipfile.ZipFile(archive).namelist() == [entry]  # the crafted name is really there
    with pytest.raises(InputError, match="absolute or climbs out"):
        read_bundles(archive)


def test_an_oversized_zip_entry_is_refused(tmp_path: Path) -> None:
    big = b"<Quota>" + b" " * 2_000_001 + b"</Quota>"
    archive = _crafted(tmp_path / "big.zip", {"apiproxy/policies/Q.xml": big})
    with pytest.raises(BundleError, match="over 2,000,000 bytes"):
        read_bundles(archive)


@pytest.mark.parametrize("name", ["../../x", "a/b", "C:\\x", "..", "x" * 251])
def test_a_policy_name_apigee_would_refuse_is_refused_with_its_file(
    tmp_path: Path, name: str
) -> None:
    root = tmp_path / "orders"
    shutil.copytree(BUNDLES / "orders", root)
    policy = root / "apiproxy" / "policies" / "SA-Global.xml"
    policy.write_text(policy.read_text().replace('name="SA-Global"', f'name="{name}"'))
    with pytest.raises(BundleError, match="SA-Global.xml: policy name"):
        read_bundles(root)


ENDPOINT = b"<ProxyEndpoint name='default'><PreFlow><Request><Step><Name>SA-x</Name></Step></Request></PreFlow></ProxyEndpoint>"


def test_a_zip_with_dot_segments_inside_its_folder_still_reads(tmp_path: Path) -> None:
    archive = _crafted(
        tmp_path / "ok.zip",
        {"./apiproxy/policies/SA-x.xml": SPIKE, "./apiproxy/proxies/default.xml": ENDPOINT},
    )
    assert [p.name for p in read_bundles(archive)] == ["SA-x"]


def test_an_interval_set_only_by_a_ref_reads_as_unknown_not_one(tmp_path: Path) -> None:
    root = tmp_path / "apiproxy"
    (root / "policies").mkdir(parents=True)
    (root / "proxies").mkdir()
    (root / "p.xml").write_text('<APIProxy name="p"/>')
    (root / "policies" / "Q.xml").write_text(
        '<Quota name="Q"><Allow count="5"/><Interval ref="v.interval"/>'
        '<TimeUnit ref="v.unit"/></Quota>'
    )
    (root / "proxies" / "default.xml").write_text(
        '<ProxyEndpoint name="default"><PreFlow><Request><Step><Name>Q</Name></Step>'
        "</Request></PreFlow><HTTPProxyConnection><BasePath>/p</BasePath></HTTPProxyConnection>"
        "</ProxyEndpoint>"
    )
    (quota,) = read_bundles(root)
    assert quota.interval is None and quota.interval_ref == "v.interval"
    assert quota.value_text().startswith("5 per ? ?")
