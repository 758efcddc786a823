"""The shipped catalog grants each scope exactly its operations, near misses included.

Apigee API products cannot say "the base path only" (resource ``/`` covers every
path below it, for its methods), and legacy or resource-less products cannot limit
methods. The shipped proxies therefore declare ``onlyListedOperations``: their flows
serve the catalog operations and refuse anything else, and the two locks together
grant exactly the intended operations. The intended sets are written out by hand.
"""

from __future__ import annotations

import pytest

from copilot.scopes import Catalog, check_request
from copilot.scopes.products import HTTP_METHODS
from tests.scopes.shipped import INTENDED_GRANTS

# Requests the API products alone would allow (or nearly): every one must be refused.
NEAR_MISSES = [
    ("orders.read", "GET", "/v1/orders/admin/dump"),
    ("orders.read", "GET", "/v1/orders/42/items/1"),
    ("orders.read", "GET", "/v1/orders/42/cancel"),
    ("orders.write", "POST", "/v1/orders/42/refund-everything"),
    ("orders.write", "POST", "/v1/orders/42"),
    ("orders.write", "POST", "/v1/orders/42/cancel/now"),
    ("orders.write", "POST", "/v1/orders/42/items"),
    ("catalog.read", "POST", "/v1/catalog/products"),
    ("catalog.read", "DELETE", "/v1/catalog/products/0614141000012"),
    ("catalog.read", "PUT", "/v1/catalog/search"),
    ("notifications.send", "POST", "/v1/notifications/push"),
    ("notifications.send", "GET", "/v1/notifications/email"),
    ("notifications.send", "DELETE", "/v1/notifications"),
    ("notifications.send", "GET", "/v1/notifications/email/1/status"),
    ("payments.refund", "POST", "/v1/payments/1/2/refund"),
    ("customers.read", "GET", "/v1/customers/1/orders"),
]


def _probes(catalog: Catalog) -> list[tuple[str, str]]:
    """Every method on every operation path, plus the near misses."""
    paths = {op.path({p: "42" for p in op.params}) for op in catalog.operations}
    paths |= {url for _, _, url in NEAR_MISSES}
    paths |= {p.base_path + "/anything/deeper" for p in catalog.proxies}
    return [(m, path) for path in sorted(paths) for m in HTTP_METHODS]


@pytest.mark.parametrize("scope", sorted(INTENDED_GRANTS))
def test_each_scope_allows_exactly_its_intended_operations(catalog: Catalog, scope: str) -> None:
    allowed: set[str] = set()
    for method, path in _probes(catalog):
        decision = check_request(catalog, [scope], method, path)
        if decision.allowed:
            assert decision.operation is not None, f"{method} {path} allowed as no operation"
            allowed.add(decision.operation.id)
    assert allowed == INTENDED_GRANTS[scope]
    assert {op.id for op in catalog.operations_for([scope])} == INTENDED_GRANTS[scope]


@pytest.mark.parametrize(("scope", "method", "url"), NEAR_MISSES)
def test_near_misses_are_refused(catalog: Catalog, scope: str, method: str, url: str) -> None:
    decision = check_request(catalog, [scope], method, url)
    assert not decision.allowed
    assert decision.reason


@pytest.mark.parametrize(
    ("scope", "method", "url"),
    [
        ("orders.read", "GET", "/v1/orders/admin/dump"),
        ("orders.write", "POST", "/v1/orders/42/refund-everything"),
        ("catalog.read", "POST", "/v1/catalog/products"),
        ("notifications.send", "POST", "/v1/notifications/push"),
    ],
)
def test_the_products_alone_would_allow_them_the_proxy_flows_refuse(
    catalog: Catalog, products_only: Catalog, scope: str, method: str, url: str
) -> None:
    # Why the shipped proxies must refuse unlisted requests: the products cannot.
    assert check_request(products_only, [scope], method, url).allowed
    decision = check_request(catalog, [scope], method, url)
    assert not decision.allowed and "not an operation of proxy" in decision.reason
