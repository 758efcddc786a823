"""End to end on loopback: gateway client -> gateway emulator -> mock backend.

The three locks of docs/architecture.md, 'Three locks on scope', observed over real
HTTP: an in-scope call passes; an out-of-scope call is refused by the client before it
leaves; the same call sent with the client's check bypassed is refused by the gateway.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from copilot.errors import ScopeDenied
from copilot.scopes import Catalog
from copilot.scopes.client import GatewayClient, GatewaySettings

from .conftest import AUDIENCE, ISSUER, Keys, RunningGateway


@pytest.fixture
def gateway(start_gateway: Callable[..., RunningGateway], echo_backend: str) -> RunningGateway:
    return start_gateway(backends={"*": echo_backend}, spike_arrest="100ps")


@pytest.fixture
def client(gateway: RunningGateway, catalog: Catalog, keys: Keys) -> GatewayClient:
    settings = GatewaySettings(
        base_url=gateway.url,
        key_ref=keys.rsa.ref,
        issuer=ISSUER,
        audience=AUDIENCE,
        subject="wf-refund-42",
        scopes=("orders.read", "payments.read"),
    )
    return GatewayClient(catalog, settings)


def test_an_in_scope_call_passes_all_three_locks(
    client: GatewayClient, gateway: RunningGateway
) -> None:
    with client:
        response = client.call("orders.list_items", {"id": "ORD-10023"}, query={"limit": 5})
    assert response.status == 200
    assert response.body["path"] == "/ORD-10023/items" and response.body["query"] == "limit=5"
    assert response.body["authorization_forwarded"] is False
    assert gateway.emulator.log[-1]["status"] == 200


def test_an_out_of_scope_call_is_refused_by_the_client_and_never_sent(
    client: GatewayClient, gateway: RunningGateway
) -> None:
    with client, pytest.raises(ScopeDenied, match="needs payments.refund"):
        client.call("payments.refund", {"id": "pay_3fa9b2c4d5e6f7a8b9c0d1e2"})
    assert list(gateway.emulator.log) == []


def test_with_the_client_check_bypassed_the_gateway_refuses(
    client: GatewayClient, gateway: RunningGateway
) -> None:
    with client:
        allowed = client.prepare("payments.get", {"id": "pay_3fa9b2c4d5e6f7a8b9c0d1e2"})
        # Forge what the client would never build: POST .../refund with the same token.
        forged = dataclasses.replace(allowed, method="POST", url=allowed.url + "/refund")
        with pytest.raises(ScopeDenied, match="gateway refused the call") as refused:
            client.send(forged)
    assert "steps.oauth.v2.InsufficientScope" in refused.value.message
    assert "needs scope payments.refund" in refused.value.message
    last = gateway.emulator.log[-1]
    assert (last["method"], last["target"], last["status"]) == (
        "POST",
        "/v1/payments/pay_3fa9b2c4d5e6f7a8b9c0d1e2/refund",
        403,
    )
