"""Policy XML in: current SpikeArrest and Quota policies from a bundle directory or zip."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from copilot.errors import BundleError
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
        (lambda d: d, "no apiproxy/ bundle"),
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
