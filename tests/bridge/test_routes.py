"""Claims to routes (scope strings, scp arrays, groups, client ids) and the closed target grammar."""

from __future__ import annotations

import pytest

from copilot.bridge.config import Route
from copilot.bridge.routes import BadTarget, Target, caller_of, match_route, parse_target

ROUTES = (
    Route({"scope": "orders.approve"}, "orders", "q1", name="orders"),
    Route(
        {"scp": ["payments.run", "payments.read"], "groups": "finance"},
        "payments",
        "q2",
        name="pay",
    ),
    Route({"client_id": "batch-app", "iss": "https://idp.example/"}, "batch", "q3", name="batch"),
)


@pytest.mark.parametrize(
    ("claims", "route"),
    [
        ({"scope": "profile orders.approve"}, "orders"),
        ({"scp": ["orders.approve"]}, "orders"),  # scp array matches a scope clause
        ({"scope": "orders.approver"}, None),  # contained as a token, not a substring
        ({"scp": ["payments.run", "payments.read"], "groups": ["finance", "x"]}, "pay"),
        ({"scope": "payments.run payments.read", "groups": "finance"}, "pay"),
        ({"scp": ["payments.run"], "groups": ["finance"]}, None),  # every wanted scope must hold
        ({"scp": ["payments.run", "payments.read"]}, None),  # the groups clause fails
        ({"azp": "batch-app", "iss": "https://idp.example/"}, "batch"),  # client_id reads azp
        ({"client_id": "batch-app", "iss": "https://other/"}, None),
        (
            {"client_id": ["batch-app"], "iss": "https://idp.example/"},
            None,
        ),  # equality, not containment
        ({}, None),
        ({"scope": None, "scp": None}, None),
    ],
)
def test_the_first_route_whose_every_clause_holds_wins(claims: dict, route: str | None) -> None:
    found = match_route(ROUTES, claims)
    assert (found.name if found else None) == route


def test_the_caller_is_read_from_claims_only() -> None:
    caller = caller_of(
        {"sub": "u1", "iss": "i", "azp": "app", "scope": "b a", "scp": ["c"], "groups": "g"}
    )
    assert (caller.subject, caller.client_id, caller.scopes, caller.groups) == (
        "u1",
        "app",
        ("a", "b", "c"),
        ("g",),
    )


@pytest.mark.parametrize(
    ("method", "path", "target"),
    [
        ("POST", "/v1/workflows/OrderApproval", Target("start", "OrderApproval")),
        (
            "POST",
            "/v1/workflows/atc-draft.refund.v2.0123456789ab",
            Target("start", "atc-draft.refund.v2.0123456789ab"),
        ),
        ("GET", "/v1/workflows/wf-1", Target("status", "wf-1")),
        ("POST", "/v1/workflows/wf-1/signals/approve", Target("signal", "wf-1", "approve")),
        ("POST", "/v1/workflows/wf-1/updates/decide", Target("update", "wf-1", "decide")),
        ("GET", "/healthz", Target("health")),
    ],
)
def test_the_grammar_names_four_operations_and_health(
    method: str, path: str, target: Target
) -> None:
    assert parse_target(method, path) == target


@pytest.mark.parametrize(
    ("method", "path", "query", "status"),
    [
        ("POST", "/v1/workflows/../OrderApproval", "", 400),
        ("POST", "/v1/workflows/./OrderApproval", "", 400),
        ("POST", "/v1/workflows/%2e%2e/OrderApproval", "", 400),
        ("POST", "/v1/workflows/a%2Fb", "", 400),
        ("POST", "/v1/workflows/a%252Fb", "", 400),
        ("POST", "//v1/workflows/OrderApproval", "", 400),
        ("POST", "/v1//workflows/OrderApproval", "", 400),
        ("POST", "/v1/workflows/OrderApproval/", "", 400),
        ("POST", "/v1/workflows\\OrderApproval", "", 400),
        ("POST", "/v1/workflows/Order Approval", "", 400),
        ("POST", "/v1/workflows/Orderé", "", 400),
        ("POST", "/v1/workflows/OrderApproval", "x=1", 400),
        ("POST", "/v1/workflows/.hidden", "", 400),
        ("GET", "/v1/workflows", "", 404),
        ("GET", "/v1/other/x", "", 404),
        ("POST", "/v1/workflows/wf/queries/q", "", 404),
        ("DELETE", "/v1/workflows/wf", "", 405),
        ("GET", "/v1/workflows/wf/signals/approve", "", 405),
        ("POST", "/healthz", "", 405),
    ],
)
def test_targets_outside_the_grammar_are_refused(
    method: str, path: str, query: str, status: int
) -> None:
    with pytest.raises(BadTarget) as caught:
        parse_target(method, path, query)
    assert caught.value.status == status
