"""The gateway emulator fronting the bridge: the bridge's products beside the shipped ones,
the bridge's own VerifyJWT on its proxy, and the verified token (only it) forwarded."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from copilot.bridge.catalog import PROXY
from copilot.bridge.config import load_config
from copilot.bridge.front import front_bridge, merged_products
from copilot.config import TOKEN_AUDIENCE, TOKEN_ISSUER
from copilot.errors import ProductsError
from copilot.scopes.catalog import DEFAULT_PRODUCTS
from copilot.scopes.emulator import create_app
from copilot.scopes.emulator_config import EmulatorConfig
from copilot.scopes.keys import load_jwks
from copilot.scopes.server import BackgroundServer, echo_backend_app

from .conftest import Keys, mint, write_config


@pytest.fixture
def fronted(tmp_path: Path, keys: Keys) -> Iterator[tuple[str, list]]:
    """An emulator fronting an echo 'bridge' (and echoing every other proxy): (URL, echo hits)."""
    echo = echo_backend_app()
    with BackgroundServer(echo) as backend:
        config = load_config(write_config(tmp_path, keys))
        catalog, backends, auth, _ = front_bridge(DEFAULT_PRODUCTS, config, backend.url)
        emulator = EmulatorConfig(
            catalog=catalog, jwks=load_jwks(keys.trusted.jwks_path), audience=TOKEN_AUDIENCE,
            issuer=TOKEN_ISSUER, backends={**backends, "*": backend.url}, spike_arrest=None,
            proxy_auth=auth,
        )  # fmt: skip
        with BackgroundServer(create_app(emulator)) as gateway:
            yield gateway.url, echo.state.hits


def _headers(hit: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in hit["headers"]:
        out.setdefault(name.lower().replace("_", "-"), []).append(value)
    return out


def test_the_bridge_proxy_gets_the_verified_token_and_nothing_a_caller_set(
    fronted: tuple[str, list], keys: Keys
) -> None:
    url, hits = fronted
    token, other = mint(keys), mint(keys, sub="mallory@example.test")
    response = httpx.post(
        f"{url}/bridge/v1/workflows/OrderApproval",
        headers={"Authorization": f"Bearer {token}", "X-Atc-Caller-Token": other},
        json={"order_id": "o"}, trust_env=False, timeout=10,
    )  # fmt: skip
    assert response.status_code == 201, response.text  # the echo answered
    seen = _headers(hits[-1])
    assert hits[-1]["path"] == "/v1/workflows/OrderApproval"
    assert seen["x-atc-caller-token"] == [token] and "authorization" not in seen


def test_other_proxies_keep_their_own_verifyjwt_and_never_see_a_token(
    fronted: tuple[str, list], keys: Keys
) -> None:
    url, hits = fronted
    bridge_token = mint(keys, scope="orders.read")  # the bridge's issuer and audience
    refused = httpx.get(f"{url}/v1/orders/o-1", headers={"Authorization": f"Bearer {bridge_token}"},
                        trust_env=False, timeout=10)  # fmt: skip
    assert refused.status_code == 401 and not hits
    gateway_token = mint(keys, scope="orders.read", iss=TOKEN_ISSUER, aud=TOKEN_AUDIENCE)
    passed = httpx.get(
        f"{url}/v1/orders/o-1",
        headers={"Authorization": f"Bearer {gateway_token}", "X-Atc-Caller-Token": gateway_token},
        trust_env=False, timeout=10,
    )  # fmt: skip
    assert passed.status_code == 200, passed.text
    seen = _headers(hits[-1])
    assert "x-atc-caller-token" not in seen and "authorization" not in seen
    assert gateway_token not in json.dumps(hits[-1]["headers"])
    on_bridge = httpx.post(f"{url}/bridge/v1/workflows/OrderApproval", json={},
                           headers={"Authorization": f"Bearer {gateway_token}"},
                           trust_env=False, timeout=10)  # fmt: skip
    assert on_bridge.status_code == 401  # the bridge proxy wants the bridge's audience


def test_the_bridge_joins_the_shipped_products_and_may_not_replace_one(
    tmp_path: Path, keys: Keys
) -> None:
    config = load_config(write_config(tmp_path, keys))
    base = json.loads(DEFAULT_PRODUCTS.read_text())
    merged, findings = merged_products(base, config)
    assert [p["name"] for p in merged["proxies"]] == [
        *(p["name"] for p in base["proxies"]),
        PROXY,
    ]
    names = [p["name"] for p in merged["apiProduct"]]
    assert names[: len(base["apiProduct"])] == [p["name"] for p in base["apiProduct"]]
    assert names[len(base["apiProduct"]) :] == ["atc-bridge-route0", "atc-bridge-payments"]
    assert findings == []
    clash = {**base, "proxies": [*base["proxies"], {"name": "legacy", "basePath": "/bridge"}]}
    with pytest.raises(ProductsError, match="already has proxy 'legacy'"):
        merged_products(clash, config)


def test_gateway_serve_needs_both_bridge_options(tmp_path: Path, keys: Keys) -> None:
    config = write_config(tmp_path, keys)
    done = subprocess.run(
        [sys.executable, "-m", "copilot.cli", "gateway", "serve", "--jwks",
         str(keys.trusted.jwks_path), "--port", "0", "--bridge-config", str(config)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "--bridge-config and --bridge-url go together" in done.stderr
