"""Apigee artifacts: the API product grants exactly the workflow's operations, and
the proxy bundles lint clean with the real apigeelint."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from copilot.errors import InputError, ScopeDenied
from copilot.scopes import Catalog, build_catalog, check_request
from copilot.scopes.artifacts import ArtifactSet, write_artifacts
from tests.apigeelint import lint_errors, require_apigeelint

ROOT = Path(__file__).resolve().parents[2]
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
@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_every_generated_bundle_lints_clean(
    apigeelint: Path, catalog: Catalog, tmp_path: Path, alg: str
) -> None:
    result = _write(catalog, tmp_path, scopes=catalog.scopes, alg=alg)
    assert set(result.bundles) == {p.name for p in catalog.proxies}
    for name, bundle in result.bundles.items():
        code, errors = lint_errors(bundle)
        assert errors == [], f"{name}: {errors}"
        assert code == 0, f"{name}: apigeelint exited {code}"
