"""The catalog: the shipped sample estate, operation sources and precedence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copilot.errors import ProductsError, ScopeDenied
from copilot.logs import sample_estate
from copilot.scopes import Catalog, build_catalog, load_catalog

ESTATE = {
    ("orders", "/v1/orders"): [
        ("GET", "/"), ("POST", "/"), ("GET", "/{id}"), ("PATCH", "/{id}"),
        ("POST", "/{id}/cancel"), ("GET", "/{id}/items"),
    ],
    ("payments", "/v1/payments"): [("POST", "/"), ("GET", "/{id}"), ("POST", "/{id}/refund")],
    ("catalog", "/v1/catalog"): [("GET", "/products"), ("GET", "/products/{sku}"), ("GET", "/search")],
    ("customers", "/v1/customers"): [("GET", "/{id}"), ("PATCH", "/{id}"), ("GET", "/{id}/addresses")],
    ("fulfilment", "/v1/fulfilment"): [("POST", "/shipments"), ("GET", "/shipments/{id}")],
    ("notifications", "/v1/notifications"): [("POST", "/email"), ("POST", "/sms")],
}  # fmt: skip
SCOPES = {
    "orders.read", "orders.write", "payments.read", "payments.refund", "catalog.read",
    "customers.read", "customers.write", "fulfilment.write", "notifications.send",
}  # fmt: skip


def test_the_shipped_catalog_is_the_sample_estate(catalog: Catalog) -> None:
    assert {(p.name, p.base_path) for p in catalog.proxies} == set(ESTATE)
    got = {(op.proxy, op.base_path, op.method, op.path_template) for op in catalog.operations}
    want = {(n, b, m, t) for (n, b), ops in ESTATE.items() for m, t in ops}
    assert got == want
    assert set(catalog.scopes) == SCOPES


def test_the_shipped_products_exercise_every_product_shape(catalog: Catalog) -> None:
    modes = {p.name: (p.mode, {r.origin for r in p.rules}) for p in catalog.products}
    assert ("apiResources", {"apiResources"}) in modes.values()
    assert ("apiResources", {"proxy without resources"}) in modes.values()
    assert sum(mode == "operationGroup" for mode, _ in modes.values()) >= 6
    assert all(len(p.scopes) == 1 for p in catalog.products)


def test_the_shipped_catalog_agrees_with_the_log_sample_generator(catalog: Catalog) -> None:
    estate = sample_estate
    assert {(p.name, p.basepath) for p in estate.PROXIES} == {
        (p.name, p.base_path) for p in catalog.proxies
    }
    sample = {(o.proxy, o.verb, o.suffix or "/") for o in estate.OPERATIONS}
    ours = {(op.proxy, op.method, op.path_template) for op in catalog.operations}
    assert sample == ours


def test_operation_ids_are_stable_and_readable(catalog: Catalog) -> None:
    ids = {op.id for op in catalog.operations}
    assert {
        "orders.list", "orders.create", "orders.get", "orders.update", "orders.cancel",
        "orders.list_items", "payments.create", "payments.get", "payments.refund",
        "catalog.list_products", "catalog.get_product", "catalog.search", "customers.get",
        "customers.update", "customers.list_addresses", "fulfilment.create_shipment",
        "fulfilment.get_shipment", "notifications.send_email", "notifications.send_sms",
    } == ids  # fmt: skip
    assert [op.id for op in load_catalog().operations] == [op.id for op in catalog.operations]


def test_operations_for_a_scope_set(catalog: Catalog) -> None:
    ops = catalog.operations_for(["orders.read", "payments.refund"])
    assert [op.id for op in ops] == [
        "orders.list", "orders.get", "orders.list_items", "payments.refund",
    ]  # fmt: skip
    assert catalog.operations_for([]) == []
    assert catalog.operation("payments.create").scopes == ()


def test_unknown_operations_are_a_scope_denial(catalog: Catalog) -> None:
    with pytest.raises(ScopeDenied, match="not in the catalog"):
        catalog.operation("orders.drop_table")


def _doc(**extra: object) -> dict:
    return {
        "proxies": [{"name": "orders", "basePath": "/v1/orders"}],
        "apiProduct": [
            {
                "name": "orders-read",
                "scopes": ["orders.read"],
                "environments": ["prod"],
                "operationGroup": {
                    "operationConfigs": [
                        {
                            "apiSource": "orders",
                            "operations": [
                                {"resource": "/*", "methods": ["GET"]},
                                {"resource": "/*/lines/*", "methods": ["GET", "DELETE"]},
                                {"resource": "/**", "methods": ["GET"]},
                            ],
                        }
                    ]
                },
            }
        ],
        **extra,
    }


def test_products_alone_describe_operations_when_nothing_else_does() -> None:
    catalog = build_catalog(_doc())
    got = sorted((op.method, op.path_template, op.source) for op in catalog.operations)
    assert got == [
        ("DELETE", "/{id1}/lines/{id2}", "products"),
        ("GET", "/{id1}/lines/{id2}", "products"),
        ("GET", "/{id}", "products"),
    ]


def test_openapi_operation_ids_win_and_paths_find_their_proxy(tmp_path: Path) -> None:
    spec = {
        "openapi": "3.0.3",
        "servers": [{"url": "https://api.shop.example/v1/orders"}],
        "paths": {
            "/{orderId}": {"get": {"operationId": "getOrder", "summary": "One order"}},
            "/{orderId}/lines/{lineId}": {"delete": {}},
        },
    }
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(spec))
    products = tmp_path / "products.json"
    products.write_text(json.dumps(_doc()))
    catalog = load_catalog(products, openapi=[path])
    by_id = {op.id: op for op in catalog.operations}
    assert by_id["orders.getOrder"].summary == "One order"
    assert by_id["orders.getOrder"].source == "openapi"
    assert by_id["orders.getOrder"].params == ("orderId",)
    # OpenAPI describes the proxy, so the product's own entries add no operations
    assert {op.source for op in catalog.operations} == {"openapi"}
    assert by_id["orders.delete_line"].scopes == ("orders.read",)


def test_openapi_paths_can_be_read_relative_to_a_named_proxy(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"swagger": "2.0", "paths": {"/{id}": {"get": {}}}}))
    products = tmp_path / "p.json"
    products.write_text(json.dumps(_doc()))
    catalog = load_catalog(products, openapi=[(spec, "orders")])
    assert [op.id for op in catalog.operations if op.source == "openapi"] == ["orders.get"]


def test_endpoints_discovered_in_logs_become_templates() -> None:
    records = [
        {"proxy": "orders", "basepath": "/v1/orders", "verb": "GET", "pathsuffix": "/ORD-1"},
        {"proxy": "orders", "basepath": "/v1/orders", "verb": "GET", "pathsuffix": "/ORD-2"},
        {"verb": "POST", "path": "/v1/orders/6f1c2a4e-8b7d-4c3a-9e2f-1a2b3c4d5e6f/notes"},
        {"verb": "GET", "path": "/v1/unknown/1"},
        {"verb": "GET", "path": "/v1/orders/../x"},
        {"verb": "BREW", "path": "/v1/orders"},
    ]
    catalog = build_catalog(_doc(), discovered=records)
    got = sorted((op.method, op.path_template, op.source) for op in catalog.operations)
    assert got == [("GET", "/{id}", "logs"), ("POST", "/{id}/notes", "logs")]
    assert catalog.operation("orders.get").scopes == ("orders.read",)
    assert catalog.operation("orders.notes").scopes == ()


def test_products_naming_proxies_without_base_paths_are_reported() -> None:
    doc = _doc()
    doc["apiProduct"][0]["operationGroup"]["operationConfigs"][0]["apiSource"] = "ghost"
    catalog = build_catalog(doc)
    assert any("'ghost', whose base path is not in the file" in f for f in catalog.findings)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('"a string"', "must hold a JSON object or list"),
        (json.dumps({"proxies": [{"name": "a"}], "apiProduct": []}), "is not a clean absolute path"),
        (json.dumps({"proxies": [{"name": "a", "basePath": "/x/"}], "apiProduct": []}), "ends in '/'"),
        (json.dumps({"proxies": [{"name": "a", "basePath": "/x//y"}], "apiProduct": []}), "clean absolute path"),
        (
            json.dumps({"proxies": [{"name": "a", "basePath": "/x"}, {"name": "b", "basePath": "/x"}], "apiProduct": []}),
            "listed for two proxies",
        ),
        (
            json.dumps({"proxies": [{"name": "a", "basePath": "/x", "operations": [{"method": "GRAB", "path": "/"}]}], "apiProduct": []}),
            "unknown HTTP method",
        ),
    ],
)  # fmt: skip
def test_bad_product_files_are_one_readable_error(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "products.json"
    path.write_text(content)
    with pytest.raises(ProductsError) as refused:
        load_catalog(path)
    assert message in refused.value.message


def test_missing_files_and_directories_are_readable_errors(tmp_path: Path) -> None:
    with pytest.raises(ProductsError, match="no such file"):
        load_catalog(tmp_path / "absent.json")
    with pytest.raises(ProductsError, match="is a directory"):
        load_catalog(tmp_path)
