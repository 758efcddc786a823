"""Operations: derived ids, path building, templates."""

from __future__ import annotations

import pytest

from copilot.errors import InputError, ProductsError, ScopeDenied
from copilot.scopes.operations import Operation, assign_ids, derive_name, normalize_template


@pytest.mark.parametrize(
    ("method", "template", "name"),
    [
        ("GET", "/", "list"),
        ("POST", "/", "create"),
        ("DELETE", "/", "delete"),
        ("GET", "/{id}", "get"),
        ("PATCH", "/{id}", "update"),
        ("PUT", "/{id}", "replace"),
        ("DELETE", "/{id}", "delete"),
        ("POST", "/{id}/cancel", "cancel"),
        ("POST", "/{id}/refund", "refund"),
        ("GET", "/{id}/items", "list_items"),
        ("DELETE", "/{id}/items", "delete_items"),
        ("GET", "/products", "list_products"),
        ("GET", "/products/{sku}", "get_product"),
        ("GET", "/search", "search"),
        ("POST", "/shipments", "create_shipment"),
        ("GET", "/shipments/{id}", "get_shipment"),
        ("GET", "/categories/{id}", "get_category"),
        ("POST", "/addresses", "create_address"),
        ("POST", "/email", "create_email"),
        ("HEAD", "/{id}", "head"),
    ],
)
def test_operation_names_are_derived_from_method_and_template(
    method: str, template: str, name: str
) -> None:
    assert derive_name(method, template) == name


def test_explicit_ids_win_and_collisions_get_stable_suffixes() -> None:
    drafts = [
        ("orders", "GET", "/{id}", None),
        ("orders", "GET", "/by-ref/{ref}", None),
        ("orders", "GET", "/{id}/items", None),
        ("orders", "POST", "/email", "send_email"),
        ("orders", "GET", "/legacy/{id}", "orders.get"),
        ("orders", "GET", "/x/{id}", None),
    ]
    ids = assign_ids(drafts)
    assert ids[4] == "orders.get"  # chosen explicitly, kept
    assert ids[3] == "orders.send_email"
    assert ids[0] == "orders.get_2"
    assert len(set(ids)) == len(ids)
    assert assign_ids(list(reversed(drafts))) == list(reversed(ids))


def _op(template: str) -> Operation:
    return Operation("orders.x", "orders", "/v1/orders", "GET", template, ("orders.read",))


def test_paths_are_built_with_each_parameter_one_encoded_segment() -> None:
    assert _op("/").path() == "/v1/orders"
    assert _op("/{id}/items").path({"id": "A 1@x"}) == "/v1/orders/A%201@x/items"
    assert _op("/{id}").path({"id": "café"}) == "/v1/orders/caf%C3%A9"
    assert _op("/{id}").full_template == "/v1/orders/{id}"


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({}, InputError, "missing ['id']"),
        ({"id": "1", "x": "2"}, InputError, "unexpected ['x']"),
        ({"id": ".."}, ScopeDenied, "may not be '..'"),
        ({"id": ""}, ScopeDenied, "may not be ''"),
        ({"id": "1/../../payments"}, ScopeDenied, "path separator"),
        ({"id": "1\\x"}, ScopeDenied, "path separator"),
    ],
)
def test_bad_parameters_are_refused(params: dict, error: type, message: str) -> None:
    with pytest.raises(error) as refused:
        _op("/{id}").path(params)
    assert message in refused.value.message


@pytest.mark.parametrize(
    ("template", "normal"), [("", "/"), ("/", "/"), ("items", "/items"), ("/{id}/", "/{id}")]
)
def test_templates_are_normalised(template: str, normal: str) -> None:
    assert normalize_template(template, "test") == normal


@pytest.mark.parametrize("template", ["/a//b", "/../x", "/a*", "/{id", "/a b"])
def test_unusable_templates_are_refused(template: str) -> None:
    with pytest.raises(ProductsError, match="unusable segment"):
        normalize_template(template, "test")


def test_the_most_specific_operation_names_a_request() -> None:
    op = _op("/{id}")
    assert op.matches_suffix("GET", "/1") == 0
    assert op.matches_suffix("POST", "/1") == -1
    assert op.matches_suffix("GET", "/1/2") == -1
    assert _op("/search").matches_suffix("GET", "/search") == 1
