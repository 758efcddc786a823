"""The Apigee bundle that fronts the bridge: routes exactly its endpoints, lints clean."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from copilot.bridge.artifacts import write_bridge_artifacts
from copilot.bridge.config import parse_config
from copilot.errors import InputError
from tests.apigeelint import PROFILES, lint_errors, require_apigeelint

from .test_config import ISSUE_EXAMPLE

JWKS = "https://idp.example.com/.well-known/jwks.json"
TWO_ROUTES = (
    ISSUE_EXAMPLE
    + """
[[bridge.route]]
name = "batch"
match = { scp = ["payments.run"], groups = "finance" }
namespace = "payments"
task_queue = "payments-workflows"
workflows = ["PaymentRun", "atc-draft.refund.v2.0123456789ab"]
updates = ["decide"]

[[bridge.route]]
name = "ops"
match = { client_id = "ops-console" }
namespace = "ops"
task_queue = "ops"
workflows = ["Cleanup"]
"""
)


@pytest.fixture
def written(tmp_path: Path):
    config = parse_config(tomllib.loads(TWO_ROUTES))
    return write_bridge_artifacts(
        config, tmp_path / "out", jwks_uri=JWKS, target_server="bridge-ts"
    )


def _xml(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def test_the_flows_route_exactly_the_granted_bridge_endpoints(written) -> None:
    proxy = _xml(written.bundle / "proxies" / "default.xml")
    flows = proxy.findall("./Flows/Flow")
    conditions = {f.findtext("Condition") for f in flows[:-1]}
    assert conditions == {
        '(proxy.pathsuffix MatchesPath "/v1/workflows/OrderApproval") and (request.verb = "POST")',
        '(proxy.pathsuffix MatchesPath "/v1/workflows/PaymentRun") and (request.verb = "POST")',
        '(proxy.pathsuffix MatchesPath "/v1/workflows/atc-draft.refund.v2.0123456789ab") and (request.verb = "POST")',
        '(proxy.pathsuffix MatchesPath "/v1/workflows/*") and (request.verb = "GET")',
        '(proxy.pathsuffix MatchesPath "/v1/workflows/*/signals/approve") and (request.verb = "POST")',
        '(proxy.pathsuffix MatchesPath "/v1/workflows/*/signals/reject") and (request.verb = "POST")',
        '(proxy.pathsuffix MatchesPath "/v1/workflows/*/updates/decide") and (request.verb = "POST")',
    }
    catch_all = flows[-1]
    assert catch_all.find("Condition") is None
    assert catch_all.findtext("./Request/Step/Name") == "RF-UnknownOperation"
    decide = next(f for f in flows if "updates/decide" in (f.findtext("Condition") or ""))
    refusal = decide.findtext("./Request/Step/Condition")
    assert "orders[.]approve" in refusal and "payments[.]run" in refusal  # both routes grant it
    assert "Cleanup" not in ET.tostring(proxy, encoding="unicode")  # no scope: not routable
    assert written.findings == ("route ops: its match names no scope; no product for it",)


def test_the_caller_is_verified_key_checked_and_rate_limited_before_any_flow(written) -> None:
    pre = [
        s.findtext("Name")
        for s in _xml(written.bundle / "proxies" / "default.xml").findall("./PreFlow/Request/Step")
    ]
    assert pre[-3:] == ["JWT-VerifyToken", "VA-VerifyClientKey", "SA-PerCaller"]
    assert set(pre[:-3]) == {"RF-AmbiguousRequest"}
    policies = written.bundle / "policies"
    jwt = _xml(policies / "JWT-VerifyToken.xml")
    assert jwt.find("./PublicKey/JWKS").get("uri") == JWKS
    assert (jwt.findtext("Issuer"), jwt.findtext("Audience")) == ("atc", "atc-bridge")
    assert (
        _xml(policies / "VA-VerifyClientKey.xml").find("APIKey").get("ref")
        == "jwt.JWT-VerifyToken.claim.client_id"
    )
    assert _xml(policies / "SA-PerCaller.xml").find("Identifier").get("ref") == "client_id"
    target = _xml(written.bundle / "targets" / "default.xml")
    assert target.find("./HTTPTargetConnection/LoadBalancer/Server").get("name") == "bridge-ts"
    assert not (
        policies / "AM-RemoveAuthorization.xml"
    ).exists()  # the bridge verifies the token too


def test_authorization_reaches_the_bridge_and_a_callers_token_header_does_not(written) -> None:
    target = _xml(written.bundle / "targets" / "default.xml")
    assert [s.findtext("Name") for s in target.findall("./PreFlow/Request/Step")] == [
        "AM-RemoveCallerTokenHeader"
    ]
    strip = _xml(written.bundle / "policies" / "AM-RemoveCallerTokenHeader.xml")
    assert [h.get("name") for h in strip.findall("./Remove/Headers/Header")] == [
        "X-Atc-Caller-Token"
    ]
    removed = [
        h.get("name").lower()
        for f in (written.bundle / "policies").iterdir()
        for h in _xml(f).findall("./Remove/Headers/Header")
    ]
    assert "authorization" not in removed
    policies = written.bundle / "policies"
    listed = {p.text for p in _xml(written.bundle / "atc-bridge.xml").findall("./Policies/Policy")}
    assert listed == {p.stem for p in policies.iterdir()}


def test_one_product_per_scoped_route_grants_its_operations(written) -> None:
    products = json.loads(written.products.read_text())["apiProduct"]
    assert [(p["name"], p["scopes"], p["environments"]) for p in products] == [
        ("atc-bridge-route0", ["orders.approve"], ["prod"]),
        ("atc-bridge-batch", ["payments.run"], ["prod"]),
    ]
    ops = products[1]["operationGroup"]["operationConfigs"][0]
    assert ops["apiSource"] == "atc-bridge"
    assert [(o["resource"], o["methods"]) for o in ops["operations"]] == [
        ("/v1/workflows/PaymentRun", ["POST"]),
        ("/v1/workflows/atc-draft.refund.v2.0123456789ab", ["POST"]),
        ("/v1/workflows/*", ["GET"]),
        ("/v1/workflows/*/updates/decide", ["POST"]),
    ]


@pytest.mark.parametrize("profile", [None, *PROFILES])
def test_the_bundle_lints_clean(written, profile: str | None) -> None:
    require_apigeelint()
    code, errors = lint_errors(written.bundle, profile)
    assert (code, errors) == (0, [])


def test_verifyjwt_needs_an_https_jwks(tmp_path: Path) -> None:
    config = parse_config(tomllib.loads(ISSUE_EXAMPLE))
    with pytest.raises(InputError, match="https:// JWKS URL"):
        write_bridge_artifacts(config, tmp_path, jwks_uri=config.jwks)
    path = tmp_path / "bridge.toml"
    path.write_text(ISSUE_EXAMPLE, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "copilot.cli", "bridge", "artifacts", "--config", str(path), "--out", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith(
        "InputError: VerifyJWT needs an https://"
    )
