"""The scope check, table-driven: every case states whether it is allowed and why.

The expected grants are written out by hand below (what each sample scope is
meant to reach), independently of how the code derives them, and every
denial must say which scope would have granted the call.
"""

from __future__ import annotations

import pytest

from copilot.scopes import Catalog, build_catalog, check_operation, check_request
from tests.scopes.shipped import INTENDED_GRANTS

# One concrete request per operation.
REQUESTS = {
    "orders.list": ("GET", "/v1/orders?status=open&limit=20"),
    "orders.create": ("POST", "/v1/orders"),
    "orders.get": ("GET", "/v1/orders/ORD-10023"),
    "orders.update": ("PATCH", "/v1/orders/ORD-10023"),
    "orders.cancel": ("POST", "/v1/orders/ORD-10023/cancel"),
    "orders.list_items": ("GET", "/v1/orders/ORD-10023/items"),
    "payments.create": ("POST", "/v1/payments"),
    "payments.get": ("GET", "/v1/payments/pay_3fa9b2c4d5e6f7a8b9c0d1e2"),
    "payments.refund": ("POST", "/v1/payments/pay_3fa9b2c4d5e6f7a8b9c0d1e2/refund"),
    "catalog.list_products": ("GET", "/v1/catalog/products?category=boots&limit=24"),
    "catalog.get_product": ("GET", "/v1/catalog/products/0614141000012"),
    "catalog.search": ("GET", "/v1/catalog/search?q=red+shoes&page=2"),
    "customers.get": ("GET", "/v1/customers/6f1c2a4e-8b7d-4c3a-9e2f-1a2b3c4d5e6f"),
    "customers.update": ("PATCH", "/v1/customers/6f1c2a4e-8b7d-4c3a-9e2f-1a2b3c4d5e6f"),
    "customers.list_addresses": (
        "GET",
        "/v1/customers/6f1c2a4e-8b7d-4c3a-9e2f-1a2b3c4d5e6f/addresses",
    ),
    "fulfilment.create_shipment": ("POST", "/v1/fulfilment/shipments"),
    "fulfilment.get_shipment": (
        "GET",
        "/v1/fulfilment/shipments/0b5e1f9a-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
    ),
    "notifications.send_email": ("POST", "/v1/notifications/email"),
    "notifications.send_sms": ("POST", "/v1/notifications/sms"),
}
NEEDS = {op: scope for scope, ops in INTENDED_GRANTS.items() for op in ops}


def _cross_product() -> list:
    cases = []
    for op_id, (method, url) in REQUESTS.items():
        for scope, ops in INTENDED_GRANTS.items():
            allowed = op_id in ops
            if allowed:
                reason = f"is granted by scope {scope}"
            elif op_id in NEEDS:
                reason = f"needs scope {NEEDS[op_id]}"
            else:
                reason = "to any scope"  # payments.create: no product grants it
            cases.append(
                pytest.param(scope, method, url, allowed, reason, op_id, id=f"{scope} {op_id}")
            )
    return cases


@pytest.mark.parametrize(("scope", "method", "url", "allowed", "reason", "op_id"), _cross_product())
def test_each_scope_reaches_exactly_its_operations(
    catalog: Catalog, scope: str, method: str, url: str, allowed: bool, reason: str, op_id: str
) -> None:
    decision = check_request(catalog, [scope], method, url)
    assert decision.allowed is allowed, decision.reason
    assert reason in decision.reason
    assert decision.operation is not None and decision.operation.id == op_id
    assert (decision.scope == scope) is allowed


SEMANTICS = [
    # "/" grants the base path and everything below it, for its methods
    ("orders.read", "GET", "/v1/orders", True, "GET / on orders"),
    ("orders.read", "GET", "/v1/orders/1/items/2/anything", True, "GET / on orders"),
    ("orders.read", "DELETE", "/v1/orders/1", False, "allow only GET there"),
    ("orders.write", "POST", "/v1/orders/1/cancel", True, "by scope orders.write"),
    ("orders.write", "PUT", "/v1/orders/1", False, "allow only PATCH, POST there"),
    ("orders.write", "POST", "/v1/orders/1", True, "POST / on orders"),  # "/" is that broad
    ("orders.write", "GET", "/v1/orders/1", False, "needs scope orders.read"),
    # "/*" is one level below the base path, not the base path itself
    ("payments.read", "GET", "/v1/payments", False, "to any scope"),
    ("payments.read", "GET", "/v1/payments/1/refund", False, "to any scope"),
    ("payments.read", "POST", "/v1/payments/1", False, "allow only GET there"),
    ("payments.refund", "POST", "/v1/payments/1/refund", True, "POST /*/refund"),
    ("payments.refund", "POST", "/v1/payments/1/2/refund", False, "to any scope"),
    ("payments.refund", "GET", "/v1/payments/1/refund", False, "allow only POST there"),
    ("payments.refund", "POST", "/v1/payments", False, "to any scope"),
    # legacy apiResources: every method, listed paths only
    (
        "catalog.read",
        "POST",
        "/v1/catalog/products",
        True,
        "any method /products on catalog (apiResources)",
    ),
    ("catalog.read", "DELETE", "/v1/catalog/products/0614141000012", True, "(apiResources)"),
    ("catalog.read", "GET", "/v1/catalog", False, "to any scope"),
    ("catalog.read", "GET", "/v1/catalog/products/1/reviews", False, "to any scope"),
    ("catalog.read", "GET", "/v1/catalog/search/deep", False, "to any scope"),
    ("catalog.read", "GET", "/v1/catalog/categories", False, "to any scope"),
    # a product naming its proxy but no resources: everything on that proxy
    ("notifications.send", "POST", "/v1/notifications/push", True, "(proxy without resources)"),
    ("notifications.send", "DELETE", "/v1/notifications", True, "(proxy without resources)"),
    (
        "notifications.send",
        "GET",
        "/v1/notifications/email/1/status",
        True,
        "(proxy without resources)",
    ),
    ("notifications.send", "POST", "/v1/orders", False, "needs scope orders.write"),
    # operation groups: resource + method lists
    ("customers.read", "GET", "/v1/customers/1/addresses", True, "GET /*/addresses"),
    ("customers.read", "GET", "/v1/customers/1/orders", False, "to any scope"),
    ("customers.read", "GET", "/v1/customers", False, "to any scope"),
    ("customers.write", "PATCH", "/v1/customers/1", True, "PATCH /* on customers"),
    ("customers.write", "PATCH", "/v1/customers/1/addresses", False, "to any scope"),
    ("customers.write", "DELETE", "/v1/customers/1", False, "allow only PATCH there"),
    ("fulfilment.write", "GET", "/v1/fulfilment/shipments", False, "allow only POST there"),
    ("fulfilment.write", "POST", "/v1/fulfilment/shipments/1", False, "allow only GET there"),
    ("fulfilment.write", "GET", "/v1/fulfilment", False, "to any scope"),
    # several scopes: any one grant suffices, the reason names it
    (
        "orders.read payments.refund",
        "POST",
        "/v1/payments/1/refund",
        True,
        "by scope payments.refund",
    ),
    ("orders.read,orders.write", "PATCH", "/v1/orders/1", True, "by scope orders.write"),
    (
        "orders.read catalog.read",
        "POST",
        "/v1/payments/1/refund",
        False,
        "needs scope payments.refund",
    ),
    # no scopes, unknown scopes
    ("", "GET", "/v1/orders/1", False, "no scopes were granted"),
    ("orders.reed", "GET", "/v1/orders/1", False, "no API product holds orders.reed"),
    ("ORDERS.READ", "GET", "/v1/orders/1", False, "no API product holds ORDERS.READ"),
    # routing: base paths are matched case-sensitively and segment-wise
    ("orders.read", "GET", "/V1/orders/1", False, "only if letter case is ignored"),
    ("orders.read", "GET", "/v1/Orders/1", False, "only if letter case is ignored"),
    ("orders.read", "GET", "/v1/ORDERS", False, "only if letter case is ignored"),
    ("orders.read", "GET", "/v1/ordersX/1", False, "no API proxy in the catalog serves"),
    ("orders.read", "GET", "/v1/order/1", False, "no API proxy in the catalog serves"),
    ("orders.read", "GET", "/v2/orders/1", False, "no API proxy in the catalog serves"),
    ("orders.read", "GET", "/", False, "no API proxy in the catalog serves"),
    # mixed case below the base path: only case-sensitive grants count
    ("catalog.read", "GET", "/v1/catalog/Products", False, "only if letter case is ignored"),
    ("catalog.read", "GET", "/v1/catalog/SEARCH", False, "only if letter case is ignored"),
    (
        "fulfilment.write",
        "POST",
        "/v1/fulfilment/Shipments",
        False,
        "only if letter case is ignored",
    ),
    ("customers.read", "GET", "/v1/customers/1/Addresses", False, "only if letter case is ignored"),
    # hostile forms are refused before any scope matters
    ("orders.read", "GET", "/v1/orders/../payments/1", False, "dot segment"),
    (
        "orders.read payments.read",
        "GET",
        "/v1/orders/%2e%2e/payments/1",
        False,
        "percent-encoded dot",
    ),
    ("orders.read", "GET", "/v1/orders//1", False, "empty path segment"),
    ("orders.read", "GET", "/v1/orders/1;x=/../../payments", False, "path parameter"),
    ("orders.read", "GET", "/v1/orders\\..\\payments", False, "backslash"),
    ("orders.read", "GET", "/v1/orders/1%00", False, "encoded control byte"),
    ("orders.read", "GET", "/v1/orders/1/", False, "trailing slash"),
    ("orders.read", "GET", "https://evil.example/v1/orders/1", False, "not to the gateway"),
    ("orders.read", "GET", "https://x@api.shop.example/v1/orders/1", False, "userinfo"),
    ("catalog.read", "GET", "/v1/catalog/search?next=/v1/payments/1", False, "carries a path"),
    ("orders.read", "get", "/v1/orders/1", False, "not upper-case"),
    ("orders.read", "TRACE", "/v1/orders/1", False, "not allowed"),
    # an absolute URL to the named gateway is fine
    ("orders.read", "GET", "https://api.shop.example/v1/orders/1", True, "by scope orders.read"),
]


@pytest.mark.parametrize(
    ("scopes", "method", "url", "allowed", "reason"),
    [pytest.param(*case, id=f"{case[0]} {case[1]} {case[2][:60]}") for case in SEMANTICS],
)
def test_apigee_semantics_on_the_sample_products(
    products_only: Catalog, scopes: str, method: str, url: str, allowed: bool, reason: str
) -> None:
    decision = check_request(products_only, scopes, method, url, gateway="https://api.shop.example")
    assert decision.allowed is allowed, decision.reason
    assert reason in decision.reason


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"X-HTTP-Method-Override": "DELETE"}, "overrides the HTTP method"),
        ({"X-Original-URL": "/v1/payments/1/refund"}, "rewrites the URL"),
        ({"Authorization": "Bearer other-token"}, "scoped token"),
    ],
)
def test_override_headers_turn_an_allowed_call_into_a_denial(
    catalog: Catalog, headers: dict, reason: str
) -> None:
    assert check_request(catalog, "orders.read", "GET", "/v1/orders/1").allowed
    decision = check_request(catalog, "orders.read", "GET", "/v1/orders/1", headers)
    assert not decision.allowed and reason in decision.reason


HOSTILE_VARIANTS = [
    lambda u: u.replace("/v1/", "/v1/./", 1),
    lambda u: u.replace("/v1/", "/v1/x/../", 1),
    lambda u: u.replace("/v1/", "/v1/%2e%2e/", 1),
    lambda u: u.replace("/v1/", "/v1/%252e%252e/", 1),
    lambda u: u.replace("/v1/", "/v1//", 1),
    lambda u: u.replace("/v1/", "/v1\\", 1),
    lambda u: u.replace("/v1/", "/v1;a=b/", 1),
    lambda u: u.split("?")[0] + "/",
    lambda u: u.replace("/v1/", "/V1/", 1),
    lambda u: "https://evil.example" + u,
    lambda u: "https://api.shop.example@evil.example" + u,
    lambda u: u.split("?")[0] + "%00",
    lambda u: u.split("?")[0] + "#frag",
    lambda u: u.split("?")[0] + "?redirect=/v1/payments/1/refund",
]


@pytest.mark.parametrize("variant", range(len(HOSTILE_VARIANTS)))
@pytest.mark.parametrize("op_id", sorted(NEEDS))
def test_no_hostile_variant_of_an_allowed_call_is_allowed(
    catalog: Catalog, op_id: str, variant: int
) -> None:
    method, url = REQUESTS[op_id]
    everything = list(INTENDED_GRANTS)
    assert check_request(catalog, everything, method, url).allowed
    mutated = HOSTILE_VARIANTS[variant](url)
    decision = check_request(
        catalog, everything, method, mutated, gateway="https://api.shop.example"
    )
    assert not decision.allowed, f"false allow: {method} {mutated!r}"
    assert decision.reason


@pytest.mark.parametrize(
    ("scopes", "op_id", "allowed", "reason"),
    [
        ("orders.read", "orders.get", True, "granted by scope orders.read"),
        ("orders.read", "orders.cancel", False, "needs orders.write"),
        (
            "payments.read payments.refund",
            "payments.create",
            False,
            "a scope no API product offers",
        ),
        ("orders.read", "orders.delete_everything", False, "not in the catalog"),
        ("", "orders.get", False, "granted: none"),
    ],
)
def test_check_operation_is_the_static_lock(
    catalog: Catalog, scopes: str, op_id: str, allowed: bool, reason: str
) -> None:
    decision = check_operation(catalog, scopes, op_id)
    assert decision.allowed is allowed and reason in decision.reason


def _synthetic(products: list[dict]) -> Catalog:
    return build_catalog(
        {
            "proxies": [
                {"name": "weather", "basePath": "/v1/weather"},
                {"name": "admin", "basePath": "/admin"},
                {"name": "deep", "basePath": "/v1/weather/deep"},
            ],
            "apiProduct": products,
        }
    )


def _product(name: str, scope: str, **fields: object) -> dict:
    return {"name": name, "scopes": [scope], "environments": ["prod"], **fields}


SYNTHETIC = [
    # a legacy product naming no proxy reaches every proxy in the organisation
    (_product("org-wide", "all"), "all", "DELETE", "/admin/users/1", True, "on any proxy"),
    # legacy resources with no proxy: those paths on every proxy
    (_product("any", "fr", apiResources=["/forecastrss"]), "fr", "GET", "/admin/forecastrss", True, "any proxy"),
    (_product("any", "fr", apiResources=["/forecastrss"]), "fr", "GET", "/admin/users", False, "to any scope"),
    # operation groups win over apiResources on the same product
    (
        _product(
            "both", "b", proxies=["weather"], apiResources=["/"],
            operationGroup={"operationConfigs": [{"apiSource": "weather", "operations": [{"resource": "/forecastrss", "methods": ["GET"]}]}]},
        ),
        "b", "GET", "/v1/weather/alerts", False, "to any scope",
    ),
    (
        _product(
            "both", "b", proxies=["weather"], apiResources=["/"],
            operationGroup={"operationConfigs": [{"apiSource": "weather", "operations": [{"resource": "/forecastrss", "methods": ["GET"]}]}]},
        ),
        "b", "GET", "/v1/weather/forecastrss", True, "(operationGroup)",
    ),
    # an operation config that lists no operations grants nothing
    (
        _product("empty-ops", "e", operationGroup={"operationConfigs": [{"apiSource": "weather", "operations": []}]}),
        "e", "GET", "/v1/weather", False, "to any scope",
    ),
    # an operation with no methods permits every method
    (
        _product("all-verbs", "v", operationGroup={"operationConfigs": [{"apiSource": "weather", "operations": [{"resource": "/*"}]}]}),
        "v", "DELETE", "/v1/weather/1", True, "any method /* on weather",
    ),
    # operation groups name their proxy: the same path on another proxy is not granted
    (
        _product("one-proxy", "w", operationGroup={"operationConfigs": [{"apiSource": "weather", "operations": [{"resource": "/**"}]}]}),
        "w", "GET", "/admin/x", False, "to any scope",
    ),
    # the longest base path owns the request
    (
        _product("one-proxy", "w", operationGroup={"operationConfigs": [{"apiSource": "weather", "operations": [{"resource": "/**"}]}]}),
        "w", "GET", "/v1/weather/deep/x", False, "of proxy deep",
    ),
    (
        _product("one-proxy", "w", operationGroup={"operationConfigs": [{"apiSource": "weather", "operations": [{"resource": "/**"}]}]}),
        "w", "GET", "/v1/weather/deeper/x", True, "/** on weather",
    ),
    # a glued wildcard grants nothing
    (_product("glued", "g", proxies=["weather"], apiResources=["/fore*"]), "g", "GET", "/v1/weather/forecast", False, "to any scope"),
    # braces are literal in Apigee, so they grant nothing
    (_product("braces", "br", proxies=["weather"], apiResources=["/{id}"]), "br", "GET", "/v1/weather/1", False, "to any scope"),
    # remote-service operation groups are not modelled: nothing
    (
        _product("remote", "r", operationGroup={"operationConfigType": "remoteservice", "operationConfigs": [{"apiSource": "weather", "operations": [{"resource": "/"}]}]}),
        "r", "GET", "/v1/weather", False, "to any scope",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("product", "scope", "method", "url", "allowed", "reason"),
    [pytest.param(*case, id=f"{case[0]['name']} {case[2]} {case[3]}") for case in SYNTHETIC],
)
def test_product_shapes(
    product: dict, scope: str, method: str, url: str, allowed: bool, reason: str
) -> None:
    decision = check_request(_synthetic([product]), [scope], method, url)
    assert decision.allowed is allowed, decision.reason
    assert reason in decision.reason


def test_environment_limits_which_products_count() -> None:
    catalog = _synthetic([_product("prod-only", "p", proxies=["weather"])])
    assert check_request(catalog, "p", "GET", "/v1/weather", environment="prod").allowed
    denied = check_request(catalog, "p", "GET", "/v1/weather", environment="test")
    assert not denied.allowed and "no API product grants" in denied.reason
