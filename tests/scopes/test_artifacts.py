"""Apigee artifacts: the API product and the proxy flows together grant exactly the
workflow's operations, the proxy verifies the token and enforces the product, and
every bundle lints clean with the real apigeelint (both profiles)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from copilot.errors import InputError, ScopeDenied
from copilot.scopes import Catalog, build_catalog, check_request
from copilot.scopes.artifacts import ArtifactSet, target_servers, write_artifacts
from tests.apigeelint import PROFILES, lint_errors, require_apigeelint

SCOPES = ("orders.read", "orders.write", "payments.refund")


def _write(catalog: Catalog, out: Path, **overrides: object) -> ArtifactSet:
    args: dict = dict(
        identity="wf-refund-42",
        scopes=SCOPES,
        jwks_uri="https://idp.shop.example/.well-known/jwks.json",
        issuer="atc",
        audience="atc-gateway",
        environments=["prod"],
    )
    args.update(overrides)
    return write_artifacts(catalog, out, **args)


def _reloaded(catalog: Catalog, product_path: Path) -> Catalog:
    proxies = [{"name": p.name, "basePath": p.base_path} for p in catalog.proxies]
    product = json.loads(product_path.read_text())
    return build_catalog({"proxies": proxies, "apiProduct": [product]})


_FLOW = re.compile(
    r'^\((?:proxy\.pathsuffix MatchesPath "(?P<path>[^"]+)"|\(proxy\.pathsuffix = ""\) or '
    r'\(proxy\.pathsuffix = "/"\))\) and \(request\.verb = "(?P<verb>[A-Z]+)"\)$'
)


def _flow_operations(bundle: Path) -> list[dict]:
    """The operations the generated ProxyEndpoint's conditional flows serve (read from the XML)."""
    endpoint = ET.parse(bundle / "proxies" / "default.xml").getroot()
    ops = []
    for flow in endpoint.iter("Flow"):
        condition = flow.findtext("Condition")
        if condition is None:
            assert flow.get("name") == "unknown-operation"  # the refusing catch-all
            continue
        match = _FLOW.match(condition)
        assert match, condition
        params = iter(f"{{p{i}}}" for i in range(1, 9))
        path = "/".join(next(params) if s == "*" else s for s in (match["path"] or "/").split("/"))
        ops.append({"method": match["verb"], "path": path or "/"})
    return ops


def _enforced(catalog: Catalog, result: ArtifactSet) -> Catalog:
    """What Apigee enforces: the generated product, on proxies that serve only their flows."""
    proxies = [
        {
            "name": p.name,
            "basePath": p.base_path,
            "onlyListedOperations": True,
            "operations": _flow_operations(result.bundles[p.name])
            if p.name in result.bundles
            else [],
        }
        for p in catalog.proxies
    ]
    product = json.loads(result.product_path.read_text())
    return build_catalog({"proxies": proxies, "apiProduct": [product]})


NEAR_MISSES = [
    ("GET", "/v1/orders/admin/dump"),
    ("POST", "/v1/orders/42/refund-everything"),
    ("GET", "/v1/orders/42/items/1"),
    ("DELETE", "/v1/orders/42"),
    ("POST", "/v1/orders/42"),
    ("GET", "/v1/payments/42/refund"),
    ("POST", "/v1/payments/1/2/refund"),
    ("PUT", "/v1/orders"),
]


@pytest.mark.parametrize(
    "chosen",
    [
        None,  # everything the scopes grant
        ["orders.list"],
        ["orders.create", "payments.refund"],
        ["orders.get", "orders.cancel"],
    ],
)
def test_the_product_and_the_proxy_flows_grant_exactly_the_operations(
    catalog: Catalog, tmp_path: Path, chosen: list[str] | None
) -> None:
    result = _write(catalog, tmp_path, operations=chosen)
    granted = set(result.operations)
    enforced = _enforced(catalog, result)
    for op in catalog.operations:
        decision = check_request(enforced, SCOPES, op.method, op.path({p: "42" for p in op.params}))
        assert decision.allowed is (op.id in granted), (op.id, decision.reason)
    for method, url in NEAR_MISSES:
        assert not check_request(enforced, SCOPES, method, url).allowed, (method, url)


def test_the_product_alone_over_grants_base_path_operations_and_says_so(
    catalog: Catalog, tmp_path: Path
) -> None:
    result = _write(catalog, tmp_path, operations=["orders.list", "orders.get", "orders.create"])
    assert check_request(
        _reloaded(catalog, result.product_path), SCOPES, "GET", "/v1/orders/admin/dump"
    ).allowed
    assert result.locks["orders.list"].startswith("product resource / (GET on every path")
    assert "proxy flow condition" in result.locks["orders.create"]
    assert result.locks["orders.get"] == "product resource /* exact"


def test_the_api_product_names_the_workflow_scopes_and_operations(
    catalog: Catalog, tmp_path: Path
) -> None:
    result = _write(catalog, tmp_path)
    product = json.loads(result.product_path.read_text())
    assert product["name"] == "atc-wf-refund-42" == result.product_name
    assert product["scopes"] == list(SCOPES) and product["environments"] == ["prod"]
    configs = {
        c["apiSource"]: c["operations"] for c in product["operationGroup"]["operationConfigs"]
    }
    assert configs["payments"] == [{"resource": "/*/refund", "methods": ["POST"]}]
    assert {"resource": "/*", "methods": ["GET", "PATCH"]} in configs["orders"]
    assert set(result.bundles) == {"orders", "payments"}


def test_the_product_grants_the_chosen_operations_and_no_others(
    catalog: Catalog, tmp_path: Path
) -> None:
    chosen = ["orders.get", "orders.cancel", "payments.refund"]
    result = _write(catalog, tmp_path, operations=chosen)
    generated = _reloaded(catalog, result.product_path)
    for op in catalog.operations:
        url = op.path({p: "X1" for p in op.params})
        decision = check_request(generated, SCOPES, op.method, url)
        assert decision.allowed is (op.id in chosen), (op.id, decision.reason)


def test_base_path_operations_need_the_broad_slash_resource(
    catalog: Catalog, tmp_path: Path
) -> None:
    # Apigee cannot say "only the base path": "/" also covers sub-paths for that
    # method, which is why the bundle's flows refuse every unlisted operation.
    result = _write(catalog, tmp_path, operations=["orders.list"])
    generated = _reloaded(catalog, result.product_path)
    assert check_request(generated, SCOPES, "GET", "/v1/orders").allowed
    assert check_request(generated, SCOPES, "GET", "/v1/orders/1").allowed
    assert not check_request(generated, SCOPES, "POST", "/v1/orders").allowed
    flows = ET.parse(result.bundles["orders"] / "proxies" / "default.xml").getroot()
    names = [f.get("name") for f in flows.iter("Flow")]
    assert names == ["orders.list", "unknown-operation"]


def test_the_bundle_checks_the_token_and_the_scope_per_flow(
    catalog: Catalog, tmp_path: Path
) -> None:
    result = _write(catalog, tmp_path)
    bundle = result.bundles["orders"]
    verify = ET.parse(bundle / "policies" / "JWT-VerifyToken.xml").getroot()
    assert (
        verify.find("PublicKey/JWKS").get("uri") == "https://idp.shop.example/.well-known/jwks.json"
    )
    assert (verify.findtext("Issuer"), verify.findtext("Audience"), verify.findtext("Subject")) == (
        "atc",
        "atc-gateway",
        "wf-refund-42",
    )
    assert verify.findtext("Algorithm") == "RS256"
    endpoint = ET.parse(bundle / "proxies" / "default.xml").getroot()
    flows = {f.get("name"): f for f in endpoint.iter("Flow")}
    cancel = flows["orders.cancel"]
    assert (
        cancel.findtext("Condition")
        == '(proxy.pathsuffix MatchesPath "/*/cancel") and (request.verb = "POST")'
    )
    assert "orders[.]write" in cancel.findtext("Request/Step/Condition")
    assert list(flows)[-1] == "unknown-operation"
    assert list(flows)[0] in ("orders.cancel", "orders.list_items")  # literal segments first
    target = ET.parse(bundle / "targets" / "default.xml").getroot()
    assert target.find("HTTPTargetConnection/LoadBalancer/Server").get("name") == "orders-backend"
    fault = ET.parse(bundle / "policies" / "RF-InsufficientScope.xml").getroot()
    body = json.loads(fault.findtext("FaultResponse/Set/Payload"))
    assert body["fault"]["detail"]["errorcode"] == "steps.oauth.v2.InsufficientScope"


@pytest.mark.parametrize(
    "header",
    ["X-HTTP-Method-Override", "X_HTTP_Method_Override", "X_Original_URL", "X-Rewrite-URL",
     "X_Original_URI"],
)  # fmt: skip
def test_the_bundle_refuses_override_headers_in_every_spelling_a_backend_reads(
    catalog: Catalog, tmp_path: Path, header: str
) -> None:
    endpoint = ET.parse(_write(catalog, tmp_path).bundles["orders"] / "proxies" / "default.xml")
    refusals = [
        step.findtext("Condition") or ""
        for step in endpoint.getroot().iter("Step")
        if step.findtext("Name") == "RF-AmbiguousRequest"
    ]
    assert any(f"request.header.{header} != null" in c for c in refusals)


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"operations": ["payments.get"]}, ScopeDenied, "needs payments.read"),
        ({"operations": ["orders.nope"]}, ScopeDenied, "not in the catalog"),
        ({"scopes": ["payments.read"], "operations": []}, InputError, "grant no catalog operation"),
        ({"identity": " "}, InputError, "workflow identity"),
        ({"alg": "HS256"}, InputError, "not supported"),
        ({"environments": []}, InputError, "environment names"),
        ({"environments": ["prod env"]}, InputError, "environment names"),
        ({"token_kind": "opaque"}, InputError, "token kind"),
        ({"client_id_claim": "a b"}, InputError, "cannot name a flow variable"),
        ({"scopes": ['orders.read"]']}, InputError, "not a valid scope token"),
    ],
)
def test_impossible_requests_are_refused(
    catalog: Catalog, tmp_path: Path, overrides: dict, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        _write(catalog, tmp_path, **overrides)


@pytest.fixture(scope="module")
def apigeelint() -> Path:
    return require_apigeelint()


@pytest.mark.slow
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("alg", "token_kind"), [("RS256", "jwt"), ("ES256", "jwt"), ("RS256", "apigee")]
)
def test_every_generated_bundle_lints_clean(
    apigeelint: Path, catalog: Catalog, tmp_path: Path, alg: str, token_kind: str, profile: str
) -> None:
    result = _write(catalog, tmp_path, scopes=catalog.scopes, alg=alg, token_kind=token_kind)
    assert set(result.bundles) == {p.name for p in catalog.proxies}
    for name, bundle in result.bundles.items():
        code, errors = lint_errors(bundle, profile)
        assert errors == [], f"{name}: {errors}"
        assert code == 0, f"{name}: apigeelint exited {code}"


def _preflow(bundle: Path) -> list[str]:
    endpoint = ET.parse(bundle / "proxies" / "default.xml").getroot()
    return [s.findtext("Name") for s in endpoint.find("PreFlow/Request").iter("Step")]


def _policies(bundle: Path) -> tuple[set[str], set[str]]:
    descriptor = ET.parse(bundle / "orders.xml").getroot()
    listed = {p.text for p in descriptor.iter("Policy")}
    return listed, {f.stem for f in (bundle / "policies").iterdir()}


def test_the_jwt_bundle_verifies_the_token_then_the_app_key_from_its_claim(
    catalog: Catalog, tmp_path: Path
) -> None:
    bundle = _write(catalog, tmp_path, client_id_claim="azp").bundles["orders"]
    steps = [s for s in _preflow(bundle) if s != "RF-AmbiguousRequest"]
    assert steps == ["JWT-VerifyToken", "VA-VerifyClientKey"]
    key = ET.parse(bundle / "policies" / "VA-VerifyClientKey.xml").getroot()
    assert key.tag == "VerifyAPIKey"
    assert key.find("APIKey").get("ref") == "jwt.JWT-VerifyToken.claim.azp"
    listed, files = _policies(bundle)
    assert listed == files and "OA-VerifyAccessToken" not in files


def test_the_apigee_token_bundle_verifies_the_access_token_with_its_scopes(
    catalog: Catalog, tmp_path: Path
) -> None:
    bundle = _write(catalog, tmp_path, token_kind="apigee").bundles["orders"]
    assert [s for s in _preflow(bundle) if s != "RF-AmbiguousRequest"] == ["OA-VerifyAccessToken"]
    oauth = ET.parse(bundle / "policies" / "OA-VerifyAccessToken.xml").getroot()
    assert (oauth.tag, oauth.findtext("Operation")) == ("OAuthV2", "VerifyAccessToken")
    assert oauth.findtext("Scope").split() == sorted(SCOPES)
    endpoint = ET.parse(bundle / "proxies" / "default.xml").getroot()
    cancel = next(f for f in endpoint.iter("Flow") if f.get("name") == "orders.cancel")
    assert (
        cancel.findtext("Request/Step/Condition") == '!(scope ~~ "^(.* )?(orders[.]write)( .*)?$")'
    )
    listed, files = _policies(bundle)
    assert listed == files and "JWT-VerifyToken" not in files


def _claim_regexes(bundle: Path, flow: str) -> dict[str, re.Pattern[str]]:
    endpoint = ET.parse(bundle / "proxies" / "default.xml").getroot()
    node = next(f for f in endpoint.iter("Flow") if f.get("name") == flow)
    condition = node.findtext("Request/Step/Condition")
    found = re.findall(r"jwt\.JWT-VerifyToken\.claim\.(\w+) ~~ \"([^\"]+)\"", condition)
    return {claim: re.compile(regex) for claim, regex in found}  # Java and Python agree here


@pytest.mark.parametrize(
    ("claim", "value", "granted"),
    [
        ("scope", "orders.write", True),
        ("scope", "payments.read orders.write other", True),
        ("scope", "orders.writer", False),
        ("scope", "ordersXwrite", False),
        ("scope", "orders.write,x", False),  # a string scope is space-separated only
        ("scp", '["orders.write"]', True),  # a JSON array
        ("scp", '["payments.read","orders.write"]', True),
        ("scp", "payments.read,orders.write", True),  # comma-joined
        ("scp", "payments.read orders.write", True),  # a space-separated string
        ("scp", '["orders.writer"]', False),
        ("scp", '["xorders.write"]', False),
        ("scp", '["orders-write"]', False),
        ("scp", "[]", False),
    ],
)
def test_the_scope_condition_reads_scope_strings_and_scp_arrays(
    catalog: Catalog, tmp_path: Path, claim: str, value: str, granted: bool
) -> None:
    regexes = _claim_regexes(_write(catalog, tmp_path).bundles["orders"], "orders.cancel")
    assert set(regexes) == {"scope", "scp"}
    assert bool(regexes[claim].match(value)) is granted


def test_environments_and_target_servers_are_parameters(catalog: Catalog, tmp_path: Path) -> None:
    targets = target_servers(["orders", "payments"], ["shared-ts", "payments=pay-ts"])
    assert targets == {"orders": "shared-ts", "payments": "pay-ts"}
    result = _write(catalog, tmp_path, environments=["test", "prod", "test"], targets=targets)
    product = json.loads(result.product_path.read_text())
    assert product["environments"] == ["prod", "test"]
    for proxy, name in targets.items():
        target = ET.parse(result.bundles[proxy] / "targets" / "default.xml").getroot()
        assert target.find("HTTPTargetConnection/LoadBalancer/Server").get("name") == name
    base = ET.parse(result.bundles["payments"] / "proxies" / "default.xml").getroot()
    assert base.findtext("HTTPProxyConnection/BasePath") == "/v1/payments"
    assert result.bundles["orders"].parent.name == "orders"  # named like the proxy it replaces


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (["a", "b"], "more than one target server"),
        (["nope=x"], "does not call"),
        (["orders=bad name"], "not a valid TargetServer"),
    ],
)
def test_bad_target_servers_are_refused(spec: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        target_servers(["orders"], spec)
