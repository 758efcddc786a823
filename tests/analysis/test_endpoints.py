"""Endpoint discovery: concrete paths become templates, by the documented rules."""

from __future__ import annotations

import pyarrow as pa
import pytest

from copilot.analysis.endpoints import common_ids, template_path, template_paths

TABLE = [
    # (request path, template)
    ("/v1/orders/8412", "/v1/orders/{id}"),
    ("/v1/orders/8412/items", "/v1/orders/{id}/items"),
    ("/v1/orders/8412/items/3", "/v1/orders/{id}/items/{id}"),
    ("/a/1/2/3", "/a/{id}/{id}/{id}"),
    ("/v1/orders/8412?expand=items&page=2", "/v1/orders/{id}"),
    ("/v1/orders#frag", "/v1/orders"),
    ("/v1/users/3f2c1a2b-1234-4abc-9def-0123456789ab", "/v1/users/{uuid}"),
    ("/v1/users/3F2C1A2B-1234-4ABC-9DEF-0123456789AB/keys", "/v1/users/{uuid}/keys"),
    ("/v1/payments/pay_9f8a7b6c5d", "/v1/payments/{id}"),
    ("/v1/payments/pay_1", "/v1/payments/{id}"),
    ("/v1/items/sku-12AB", "/v1/items/{id}"),
    ("/v1/blobs/9f86d081884c7d659a2feaa0c55ad015", "/v1/blobs/{id}"),
    ("/v1/objects/507f1f77bcf86cd799439011", "/v1/objects/{id}"),
    ("/v1/tokens/dGhpcy1pcy1hLXRva2VuLTE2Nzg", "/v1/tokens/{id}"),
    ("/v1/reports/2024-05-01", "/v1/reports/{date}"),
    ("/v1/people/ann.lee@example.com", "/v1/people/{email}"),
    # literal words stay, digits inside a short word stay
    ("/v1/me", "/v1/me"),
    ("/oauth2/token", "/oauth2/token"),
    ("/api_v2/status", "/api_v2/status"),
    ("/x/deadbeef", "/x/deadbeef"),
    ("/x/deadbeef1", "/x/{id}"),
    ("/v1/how-to-configure-spike-arrest", "/v1/how-to-configure-spike-arrest"),
    ("/v1/orders/", "/v1/orders/"),
    ("/", "/"),
    ("", "/"),
]


@pytest.mark.parametrize(("path", "expected"), TABLE)
def test_template_path_follows_the_table(path: str, expected: str) -> None:
    assert template_path(path) == expected


def test_vectorised_templating_agrees_with_the_scalar_form_and_maps_null_to_root() -> None:
    paths = [p for p, _ in TABLE] + [None]
    assert template_paths(pa.array(paths)).to_pylist() == [e for _, e in TABLE] + ["/"]
    large = pa.array(paths, type=pa.large_string())
    assert template_paths(pa.chunked_array([large])).to_pylist() == [e for _, e in TABLE] + ["/"]


def test_the_cheap_first_pass_does_not_change_any_template() -> None:
    paths = pa.array([p for p, _ in TABLE], type=pa.large_string())
    assert template_paths(common_ids(paths)).to_pylist() == [e for _, e in TABLE]
