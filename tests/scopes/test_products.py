"""Parsing Apigee API products: what each shape grants, findings, and refusals."""

from __future__ import annotations

import pytest

from copilot.errors import ProductsError
from copilot.scopes.products import parse_product, parse_products


def test_operation_groups_become_rules_per_proxy_resource_and_method() -> None:
    product = parse_product(
        {
            "name": "orders-write",
            "scopes": ["orders.write"],
            "environments": ["prod"],
            "operationGroup": {
                "operationConfigs": [
                    {
                        "apiSource": "orders",
                        "operations": [{"resource": "/*", "methods": ["patch", "PATCH"]}],
                    }
                ]
            },
        }
    )
    assert product.mode == "operationGroup"
    (rule,) = product.rules
    assert (rule.proxy, rule.pattern.text, rule.methods) == ("orders", "/*", ("PATCH",))
    assert product.findings == ()


def test_legacy_products_apply_their_resources_to_each_listed_proxy() -> None:
    product = parse_product(
        {
            "name": "p",
            "scopes": ["s"],
            "environments": ["prod"],
            "proxies": ["a", "b"],
            "apiResources": ["/x", "/y/*"],
        }
    )
    assert product.mode == "apiResources"
    assert sorted((r.proxy, r.pattern.text) for r in product.rules) == [
        ("a", "/x"), ("a", "/y/*"), ("b", "/x"), ("b", "/y/*"),
    ]  # fmt: skip
    assert all(r.methods == () for r in product.rules)
    assert any("cannot limit HTTP methods" in f for f in product.findings)


@pytest.mark.parametrize(
    ("fields", "finding"),
    [
        ({"scopes": ["s"], "environments": ["prod"]}, "may call any API in the organisation"),
        ({"scopes": ["s"], "proxies": ["a"]}, "lists no environment"),
        ({"environments": ["prod"], "proxies": ["a"]}, "no OAuth scopes"),
        (
            {"scopes": ["s"], "environments": ["p"], "operationGroup": {"operationConfigs": [{"apiSource": "a"}]}},
            "lists no operations",
        ),
        (
            {"scopes": ["s"], "environments": ["p"], "operationGroup": {"operationConfigs": []}},
            "has no operationConfigs",
        ),
        (
            {"scopes": ["s"], "environments": ["p"], "apiResources": ["/x"],
             "operationGroup": {"operationConfigs": [{"apiSource": "a", "operations": [{"resource": "/"}]}]}},
            "the operation group is enforced",
        ),
        ({"scopes": ["s"], "environments": ["p"], "proxies": ["a"], "apiResources": ["/a*"]}, "whole segments"),
        ({"scopes": ["s"], "environments": ["p"], "graphqlOperationGroup": {"operationConfigs": [{}]}}, "not modelled"),
        (
            {"scopes": ["s"], "environments": ["p"],
             "operationGroup": {"operationConfigType": "remoteservice", "operationConfigs": []}},
            "not modelled",
        ),
    ],
)  # fmt: skip
def test_risky_or_undocumented_shapes_are_reported(fields: dict, finding: str) -> None:
    product = parse_product({"name": "p", **fields})
    assert any(finding in f for f in product.findings), product.findings


def test_graphql_only_products_grant_nothing_rather_than_everything() -> None:
    product = parse_product(
        {"name": "g", "scopes": ["s"], "environments": ["p"], "graphqlOperationGroup": {"x": 1}}
    )
    assert product.rules == ()


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"apiProduct": [{"name": "names-only"}]}, "?expand=true"),
        ({"apiProduct": [{"scopes": ["s"]}]}, "non-empty name"),
        ({"apiProduct": [{"name": "bad/name", "scopes": ["s"]}]}, "characters Apigee does not allow"),
        ({"apiProduct": [{"name": "p", "scopes": ["has space"]}]}, "not a valid scope token"),
        ({"apiProduct": [{"name": "p", "scopes": "s"}]}, "must be a list of strings"),
        ({"apiProduct": [{"name": "p", "scopes": ["s"]}, {"name": "p", "scopes": ["t"]}]}, "appears twice"),
        ({"apiProduct": "nope"}, "must be a list"),
        ({"products": []}, 'no "apiProduct" list'),
        (
            {"apiProduct": [{"name": "p", "operationGroup": {"operationConfigs": [{"apiSource": "a", "operations": [{"resource": "/", "methods": ["FETCH"]}]}]}}]},
            "unknown HTTP method",
        ),
        ({"apiProduct": [{"name": "p", "operationGroup": {"operationConfigs": [{"operations": []}]}}]}, "needs an apiSource"),
        ({"apiProduct": [{"name": "p", "operationGroup": {"operationConfigs": [{"apiSource": "a", "operations": [{"methods": []}]}]}}]}, "resource string"),
        ({"apiProduct": [{"name": "p", "operationGroup": "x"}]}, "must be an object"),
    ],
)  # fmt: skip
def test_malformed_product_files_are_refused_with_a_clear_message(
    doc: object, message: str
) -> None:
    with pytest.raises(ProductsError) as refused:
        parse_products(doc)
    assert message in refused.value.message


def test_a_bare_list_of_products_is_accepted() -> None:
    (product,) = parse_products(
        [{"name": "p", "scopes": ["s"], "proxies": ["a"], "environments": ["e"]}]
    )
    assert product.grant("a", "/anything", "DELETE") is not None
    assert product.grant("b", "/anything", "GET") is None
