"""`atc scopes list` lists every grant `atc scopes check` allows, and nothing more.

Table-driven over real-shaped management-API product files
(tests/fixtures/real/products, see ATTRIBUTION.md there) and the shipped catalog:
for every scope, each probe request is allowed by check exactly when one listed
grant matches it. A listed grant is matched here independently of the listing
code: resource rows with the Apigee matcher (pinned by test_matching.py),
operation rows segment by segment.
"""

from __future__ import annotations

import json

import pytest

from copilot.scopes import Catalog, build_catalog, check_request, load_catalog
from copilot.scopes.grants import Grant, scope_grants
from copilot.scopes.matching import compile_resource
from copilot.scopes.products import HTTP_METHODS
from tests.paths import FIXTURES

REAL = FIXTURES / "real" / "products"
PROXIES = json.loads((REAL / "proxies.json").read_text())["proxies"]
FILES = sorted(p.name for p in REAL.glob("*-products.json")) + ["learn-edge-product.json"]


def _real_catalog(name: str) -> Catalog:
    doc = json.loads((REAL / name).read_text())
    products = doc["apiProduct"] if isinstance(doc, dict) and "apiProduct" in doc else doc
    products = products if isinstance(products, list) else [products]
    for product in products:
        # A product without scopes can be granted by none; give it one so its grants count.
        product["scopes"] = product.get("scopes") or [f"scope-of-{product['name']}"]
    return build_catalog({"proxies": PROXIES, "apiProduct": products}, source=name)


def _matches(grant: Grant, method: str, path: str) -> bool:
    if grant.methods and method not in grant.methods:
        return False
    base = grant.base_path
    if path != base and not path.startswith(base + "/"):
        return False
    suffix = path[len(base) :]
    if grant.kind == "resource":
        return compile_resource(grant.path).matches(suffix)
    want = [s for s in grant.path.split("/") if s]
    got = [s for s in suffix.split("/") if s] if suffix else []
    return len(want) == len(got) and all(
        w.startswith("{") or w == g for w, g in zip(want, got, strict=True)
    )


def _probes(catalog: Catalog) -> list[str]:
    paths = set()
    for proxy in catalog.proxies:
        base = proxy.base_path
        for tail in ("", "/x", "/x/y", "/x/y/z", "/42/users", "/42/users/7", "/42/users/7/z",
                     "/json", "/xml", "/json/1", "/companyId", "/directions/a"):  # fmt: skip
            paths.add(base + tail)
    for op in catalog.operations:
        paths.add(op.path({p: "42" for p in op.params}))
    return sorted(paths)


def _cases() -> list:
    cases = [pytest.param(name, id=name) for name in FILES]
    return [*cases, pytest.param(None, id="shipped products.json")]


@pytest.mark.parametrize("name", _cases())
def test_the_listed_grants_are_exactly_what_check_allows(name: str | None) -> None:
    catalog = load_catalog() if name is None else _real_catalog(name)
    assert catalog.scopes
    probes = _probes(catalog)
    for scope in catalog.scopes:
        grants = scope_grants(catalog, [scope])
        assert grants, f"{scope} lists no grant"
        for path in probes:
            for method in HTTP_METHODS:
                allowed = check_request(catalog, [scope], method, path).allowed
                listed = any(_matches(g, method, path) for g in grants)
                assert allowed is listed, (scope, method, path, [g.to_dict() for g in grants])


def test_grants_with_every_method_and_legacy_resources_are_listed() -> None:
    tiers = {
        (g.scope, g.path, g.methods, g.origin)
        for g in scope_grants(_real_catalog("provisioning-tiers-products.json"))
    }
    assert ("WRITE", "/**", (), "apiResources") in tiers
    learn = scope_grants(_real_catalog("learn-edge-product.json"), ["READ"])
    assert {g.path for g in learn} == {"/json", "/xml", "/companyId", "/directions"}
    assert all(g.methods == () for g in learn)
    hello = scope_grants(_real_catalog("deploy-apigee-config-products.json"))
    assert [(g.path, g.methods, g.origin) for g in hello] == [("/", (), "operationGroup")]


def test_the_real_product_files_parse_with_their_findings() -> None:
    for name in FILES:
        catalog = _real_catalog(name)
        assert catalog.products, name
    legacy = _real_catalog("cicd-sharedflow-products.json")
    assert any("legacy apiResources" in f for f in legacy.findings)


def test_a_rule_granting_an_operation_for_some_values_lists_those_values() -> None:
    catalog = build_catalog(
        {
            "proxies": [
                {
                    "name": "users",
                    "basePath": "/v1/users",
                    "onlyListedOperations": True,
                    "operations": [
                        {"method": "GET", "path": "/{id}"},
                        {"method": "GET", "path": "/{id}/{part}"},
                    ],
                }
            ],
            "apiProduct": [
                {
                    "name": "admin-only",
                    "scopes": ["a"],
                    "environments": ["prod"],
                    "operationGroup": {
                        "operationConfigs": [
                            {
                                "apiSource": "users",
                                "operations": [
                                    {"resource": "/admin", "methods": ["GET"]},
                                    {"resource": "/*/profile"},
                                ],
                            }
                        ]
                    },
                }
            ],
        }
    )
    paths = {g.path for g in scope_grants(catalog, ["a"])}
    assert paths == {"/admin", "/{id}/profile"}
    for path, allowed in [("/v1/users/admin", True), ("/v1/users/42", False),
                          ("/v1/users/42/profile", True), ("/v1/users/42/other", False)]:  # fmt: skip
        assert check_request(catalog, ["a"], "GET", path).allowed is allowed
        assert any(_matches(g, "GET", path) for g in scope_grants(catalog, ["a"])) is allowed
