"""A proxy's OAuthV2 VerifyAccessToken <Scope> narrows which scopes reach it.

The <Scope> lists are read from a real bundle (the one `atc scopes artifacts
--token-kind apigee` writes) into the proxies list as verifyAccessTokenScopes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copilot.errors import ProductsError
from copilot.scopes import DEFAULT_PRODUCTS, Catalog, build_catalog, check_request
from copilot.scopes.artifacts import write_artifacts
from copilot.scopes.grants import scope_grants
from copilot.scopes.sources import bundle_token_scopes


def _narrowed(tmp_path: Path, catalog: Catalog) -> Catalog:
    result = write_artifacts(
        catalog, tmp_path, identity="wf-1", scopes=["orders.read"], jwks_uri="",
        issuer="atc", audience="atc-gateway", token_kind="apigee",
    )  # fmt: skip
    groups = bundle_token_scopes(result.bundles["orders"])
    assert groups == ["orders.read"]
    doc = json.loads(DEFAULT_PRODUCTS.read_text())
    for proxy in doc["proxies"]:
        if proxy["name"] == "orders":
            proxy["verifyAccessTokenScopes"] = groups
    return build_catalog(doc)


def test_the_bundle_scope_narrows_the_proxy(catalog: Catalog, tmp_path: Path) -> None:
    narrowed = _narrowed(tmp_path, catalog)
    assert check_request(narrowed, ["orders.read"], "GET", "/v1/orders/42").allowed
    # orders-write grants POST /v1/orders, but the proxy's <Scope> wants orders.read
    assert check_request(catalog, ["orders.write"], "POST", "/v1/orders").allowed
    denied = check_request(narrowed, ["orders.write"], "POST", "/v1/orders")
    assert not denied.allowed and "<Scope> orders.read" in denied.reason
    # holding both passes the <Scope> and the product
    assert check_request(narrowed, ["orders.read", "orders.write"], "POST", "/v1/orders").allowed
    assert narrowed.operation("orders.create").scopes == ()  # no single scope suffices
    assert narrowed.operation("orders.get").scopes == ("orders.read",)
    assert scope_grants(narrowed, ["orders.write"]) == []
    assert check_request(narrowed, ["payments.refund"], "POST", "/v1/payments/1/refund").allowed


def test_bundles_without_a_verify_access_token_scope_narrow_nothing(
    catalog: Catalog, tmp_path: Path
) -> None:
    result = write_artifacts(
        catalog, tmp_path, identity="wf-1", scopes=["orders.read"],
        jwks_uri="https://idp.example/jwks.json", issuer="atc", audience="atc-gateway",
    )  # fmt: skip
    assert bundle_token_scopes(result.bundles["orders"]) == []


def test_a_malformed_scope_list_is_refused() -> None:
    doc = {
        "proxies": [{"name": "a", "basePath": "/a", "verifyAccessTokenScopes": [""]}],
        "apiProduct": [],
    }
    with pytest.raises(ProductsError, match="verifyAccessTokenScopes"):
        build_catalog(doc)
