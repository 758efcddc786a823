"""Fixtures for the scope tests: the shipped catalog, keys made at test time,
and real HTTP servers on 127.0.0.1 (ephemeral ports)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from copilot.scopes import DEFAULT_PRODUCTS, Catalog, build_catalog, load_catalog
from copilot.scopes.emulator import GatewayEmulator, create_app
from copilot.scopes.emulator_config import EmulatorConfig
from copilot.scopes.keys import GeneratedKey, generate_keypair, load_jwks
from copilot.scopes.server import BackgroundServer, echo_backend_app

ISSUER = "atc-test-issuer"
AUDIENCE = "atc-test-gateway"


@dataclass
class Keys:
    rsa: GeneratedKey
    ec: GeneratedKey
    stranger: GeneratedKey  # a valid key the gateway does not trust


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def products_only() -> Catalog:
    """The shipped products with proxies that do not refuse unlisted requests: what the
    API products alone grant (the shipped proxies close the over-grants, see
    tests/scopes/test_shipped_products.py)."""
    doc = json.loads(DEFAULT_PRODUCTS.read_text())
    for proxy in doc["proxies"]:
        proxy.pop("onlyListedOperations", None)
    return build_catalog(doc)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    trusted = tmp_path_factory.mktemp("trusted-keys")
    return Keys(
        rsa=generate_keypair(trusted, "RS256"),
        ec=generate_keypair(trusted, "ES256"),
        stranger=generate_keypair(tmp_path_factory.mktemp("stranger-keys"), "RS256"),
    )


@pytest.fixture(scope="session")
def echo_backend() -> Iterator[str]:
    with BackgroundServer(echo_backend_app()) as server:
        yield server.url


@dataclass
class RunningGateway:
    url: str
    emulator: GatewayEmulator


@pytest.fixture
def start_gateway(catalog: Catalog, keys: Keys) -> Iterator[Callable[..., RunningGateway]]:
    """Start emulators on loopback; each is stopped when the test ends."""
    servers: list[BackgroundServer] = []

    def start(**overrides: object) -> RunningGateway:
        settings = dict(
            catalog=catalog,
            jwks=load_jwks(keys.rsa.jwks_path),
            audience=AUDIENCE,
            issuer=ISSUER,
            spike_arrest=None,
        )
        settings.update(overrides)
        app = create_app(EmulatorConfig(**settings))  # type: ignore[arg-type]
        server = BackgroundServer(app)
        servers.append(server)
        return RunningGateway(server.start(), app.state.emulator)

    yield start
    for server in servers:
        server.stop()
