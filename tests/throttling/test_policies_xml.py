"""Policy XML out: apigeelint accepts the generated bundles, and atc checks what it does not
(rate strings, TimeUnit, quota type, StartTime)."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from copilot.errors import InputError
from copilot.throttling.policies_bundle import JwtCheck, bundle_files, write_bundles, zip_bundles
from copilot.throttling.policies_xml import (
    check_policy_name,
    client_condition,
    file_component,
    policy_name,
    quota_xml,
    spike_arrest_xml,
)
from copilot.throttling.rates import QUOTA_TYPES, TIME_UNITS, is_valid_rate
from tests.apigeelint import PROFILES, lint_errors, require_apigeelint
from tests.throttling.conftest import BUNDLES


@pytest.fixture(scope="module")
def apigeelint() -> Path:
    return require_apigeelint()


@pytest.mark.slow
@pytest.mark.parametrize("profile", PROFILES)
def test_every_generated_bundle_lints_clean(
    apigeelint: Path, sample_run, tmp_path: Path, profile: str
) -> None:
    written = write_bundles(sample_run.report.bundles, tmp_path)
    assert set(written) == {s.proxy for s in sample_run.report.suggestions}
    for proxy, bundle in written.items():
        code, errors = lint_errors(bundle, profile)
        assert errors == [], f"{proxy}: {errors}"
        assert code == 0, f"{proxy}: apigeelint exited {code}"


def _app_policies() -> list[tuple[str, str, str | None]]:
    return [
        ("SA-orders", spike_arrest_xml("SA-orders", "60pm"), None),
        ("SA-App-x", spike_arrest_xml("SA-App-x", "10pm"), client_condition("key-x")),
        ("Q-Client", quota_xml("Q-Client", 100, quota_type="default"), None),
    ]


JWT_CHECK = JwtCheck("https://idp.example/jwks.json", "https://idp.example", "orders-api", "azp")


@pytest.mark.slow
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("verify", ["apikey", "jwt", "none"])
def test_bundles_lint_clean_with_every_verification(
    apigeelint: Path, tmp_path: Path, profile: str, verify: str
) -> None:
    files = bundle_files(
        "orders", _app_policies(), "/v1/orders", verify=verify, jwt_check=JWT_CHECK,
        target_server="orders-ts",
    )  # fmt: skip
    bundle = write_bundles({"orders": files}, tmp_path)["orders"]
    assert lint_errors(bundle, profile) == (0, [])


@pytest.mark.slow
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("proxy", ["orders", "catalog"])
def test_the_current_policy_fixtures_lint_clean(apigeelint: Path, proxy: str, profile: str) -> None:
    assert lint_errors(BUNDLES / proxy / "apiproxy", profile) == (0, [])


def _steps(files: dict[str, str]) -> list[str]:
    endpoint = ET.fromstring(files["proxies/default.xml"])
    return [s.findtext("Name") for s in endpoint.iter("Step")]


def test_the_caller_is_verified_before_the_first_per_app_step() -> None:
    files = bundle_files("orders", _app_policies())
    assert _steps(files) == ["SA-orders", "VA-VerifyAPIKey", "SA-App-x", "Q-Client"]
    key = ET.fromstring(files["policies/VA-VerifyAPIKey.xml"])
    assert key.tag == "VerifyAPIKey"
    assert key.find("APIKey").get("ref") == "request.header.x-apikey"
    # a quota counting per client_id needs the verification too, even without a condition
    quota_only = [("Q-Client", quota_xml("Q-Client", 100, quota_type="default"), None)]
    assert _steps(bundle_files("orders", quota_only)) == ["VA-VerifyAPIKey", "Q-Client"]


def test_a_jwt_caller_is_verified_then_its_client_id_claim_is_the_key() -> None:
    files = bundle_files("orders", _app_policies(), verify="jwt", jwt_check=JWT_CHECK)
    assert _steps(files) == [
        "SA-orders",
        "JWT-VerifyToken",
        "VA-VerifyAPIKey",
        "SA-App-x",
        "Q-Client",
    ]
    token = ET.fromstring(files["policies/JWT-VerifyToken.xml"])
    assert token.find("PublicKey/JWKS").get("uri") == JWT_CHECK.jwks_uri
    assert token.find("Subject") is None
    key = ET.fromstring(files["policies/VA-VerifyAPIKey.xml"])
    assert key.find("APIKey").get("ref") == "jwt.JWT-VerifyToken.claim.azp"
    assert _steps(bundle_files("orders", _app_policies(), verify="none")) == [
        "SA-orders", "SA-App-x", "Q-Client",
    ]  # fmt: skip


def test_name_base_path_and_target_server_come_from_the_input() -> None:
    files = bundle_files("orders", _app_policies(), "/v1/orders", target_server="orders-ts")
    descriptor = ET.fromstring(files["orders-limits.xml"])
    assert descriptor.get("name") == "orders-limits"  # never the scopes artifacts' "orders"
    assert descriptor.findtext("BasePaths") == "/v1/orders"
    endpoint = ET.fromstring(files["proxies/default.xml"])
    assert endpoint.findtext("HTTPProxyConnection/BasePath") == "/v1/orders"
    target = ET.fromstring(files["targets/default.xml"])
    assert target.find("HTTPTargetConnection/LoadBalancer/Server").get("name") == "orders-ts"
    default = ET.fromstring(bundle_files("orders", _app_policies())["targets/default.xml"])
    assert default.find("HTTPTargetConnection/LoadBalancer/Server").get("name") == "orders-backend"
    assert (
        ET.fromstring(bundle_files("orders", [])["orders-limits.xml"]).findtext("BasePaths")
        == "/orders"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"verify": "mtls"}, "must be one of"),
        ({"verify": "jwt"}, "needs a JwtCheck"),
        ({"base_path": "v1/orders"}, "not an absolute URL path"),
        ({"target_server": "bad name!"}, "not one Apigee accepts"),
    ],
)
def test_bad_bundle_options_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        bundle_files("orders", _app_policies(), **kwargs)


def test_generated_policies_have_valid_rates_units_and_types(sample_run) -> None:
    policies = 0
    for files in sample_run.report.bundles.values():
        for name, text in files.items():
            if not name.startswith("policies/"):
                continue
            root = ET.fromstring(text)
            if root.tag == "VerifyAPIKey":  # the caller's verification, not a suggestion
                continue
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
    xml = spike_arrest_xml("SA x", "5pm", identifier='request.header."<k>&"')
    root = ET.fromstring(xml)
    assert root.get("name") == "SA x"
    assert root.find("Identifier").get("ref") == 'request.header."<k>&"'


def test_bundles_zip_and_write_the_same_files(tmp_path: Path) -> None:
    files = bundle_files("orders", [("SA-orders", spike_arrest_xml("SA-orders", "60pm"), None)])
    names = zipfile.ZipFile(io.BytesIO(zip_bundles({"orders": files}))).namelist()
    written = write_bundles({"orders": files}, tmp_path)["orders"]
    on_disk = sorted(p.relative_to(tmp_path).as_posix() for p in written.rglob("*.xml"))
    assert sorted(names) == on_disk


# --- names from logs and bundles ---------------------------------------------

HOSTILE_PROXIES = [
    "..",
    ".",
    "../x",
    "../../etc",
    "a/b",
    "a-b",
    "/abs",
    "C:\\x",
    "C:x",
    "nul\x00byte",
    "\x1b[31mred\r\nforged",
    "\u202egnp",
    "NUL",
    "con.txt",
    ".hidden",
    "L" * 600,
    "\u00e9t\u00e9",
    "ORDERS",
    "orders",
]


def _bundle(proxy: str) -> dict[str, str]:
    name = policy_name("SA", proxy)
    return bundle_files(proxy, [(name, spike_arrest_xml(name, "60pm"), None)])


def test_hostile_proxy_names_write_only_inside_the_output_directory(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "out"
    out.mkdir(parents=True)
    written = write_bundles({p: _bundle(p) for p in HOSTILE_PROXIES}, out)
    files = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert files and all(f.resolve().is_relative_to(out.resolve()) for f in files)
    folders = {path.parent.name for path in written.values()}
    assert len(folders) == len(HOSTILE_PROXIES)  # unique, even "a/b" next to "a-b"
    assert len({f.lower() for f in folders}) == len(folders)  # and on case-blind disks
    for proxy, root in written.items():
        descriptor = next(root.glob("*.xml"))
        kept = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f]", "\ufffd", proxy)  # XML 1.0 forbids these
        assert ET.parse(descriptor).getroot().get("name") == kept + "-limits"
        for xml in root.rglob("*.xml"):
            ET.parse(xml)  # well-formed, whatever the name held


@pytest.mark.parametrize("proxy", HOSTILE_PROXIES)
def test_a_file_component_is_one_safe_name(proxy: str) -> None:
    part = file_component(proxy)
    assert 0 < len(part) <= 100 and PurePosixPath(part).name == part
    assert part.strip(".") == part and not set(part) - set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
    )
    assert part.split(".")[0].lower() not in {"con", "nul", "prn", "aux"}


def test_zipped_bundles_hold_only_relative_entries_inside_their_folder() -> None:
    data = zip_bundles({p: _bundle(p) for p in HOSTILE_PROXIES})
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert len({n.split("/")[0] for n in names}) == len(HOSTILE_PROXIES)
    for name in names:
        parts = PurePosixPath(name).parts
        assert not name.startswith("/") and ".." not in parts and "\\" not in name
        assert parts[1] == "apiproxy"


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("SA", "orders"), "SA-orders"),
        (("SA-App", "dealfinder-app"), "SA-App-dealfinder-app"),
        (("SA-App", "my app"), "SA-App-my-app-"),
        (("SA-App", "my-app"), "SA-App-my-app"),
        (("SA-App", "a/../b"), "SA-App-a-..-b-"),
        (("Q-App", "x" * 300), "Q-App-" + "x" * 85 + "-"),
    ],
)
def test_generated_policy_names_are_valid_and_never_collide(parts, expected: str) -> None:
    name = policy_name(*parts)
    assert name.startswith(expected) and check_policy_name(name) == name
    assert len(name) <= 100
    if expected.endswith("-"):
        assert len(name) == len(expected) + 8  # a hash of the original keeps it unique


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../x", "not one Apigee accepts"),
        ("a/b", "not one Apigee accepts"),
        ("C:\\x", "not one Apigee accepts"),
        ("nul\x00", "not one Apigee accepts"),
        ("", "not one Apigee accepts"),
        ("..", "cannot be a file name"),
        ("x" * 251, "cannot be a file name"),
    ],
)
def test_policy_names_apigee_would_refuse_are_refused_with_a_reason(name: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        bundle_files("orders", [(name, "<SpikeArrest/>", None)])
    with pytest.raises(InputError, match=reason):
        spike_arrest_xml(name, "5pm")


def test_two_policies_with_one_name_are_refused() -> None:
    xml = spike_arrest_xml("SA-x", "5pm")
    with pytest.raises(InputError, match="two policies named"):
        bundle_files("orders", [("SA-x", xml, None), ("sa-X", xml, None)])


@pytest.mark.parametrize("client_id", ["a\x00b", "a\x1bb", "a\nb", "a\u202eb", "a\ufffeb"])
def test_a_client_id_a_condition_cannot_hold_exactly_is_refused(client_id: str) -> None:
    with pytest.raises(InputError, match="control characters"):
        client_condition(client_id)


def test_xml_forbidden_characters_in_names_keep_the_xml_well_formed() -> None:
    proxy = "ord\x00ers\x08\ud800\ufffe\r\n<&>"
    files = _bundle(proxy)
    descriptor = ET.fromstring(files[f"{file_component(proxy + '-limits')}.xml"])
    assert descriptor.get("name") == "ord\ufffders\ufffd\ufffd\ufffd\r\n<&>-limits"
    assert descriptor.findtext("DisplayName") == "ord\ufffders\ufffd\ufffd\ufffd\r\n<&>-limits"
    for text in files.values():
        ET.fromstring(text.encode("utf-8"))
