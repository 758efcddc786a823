"""The local gateway emulator in front of the bridge: its proxy, products and VerifyJWT.

What ``atc gateway serve --bridge-config FILE --bridge-url URL`` (and so
``atc up`` when ``<data_dir>/bridge.toml`` exists) adds to the emulator:

- the bridge's proxy ``atc-bridge`` on ``/bridge`` and one product per route
  (:mod:`copilot.bridge.catalog`), next to the products the gateway already serves;
- that proxy's own VerifyJWT settings, the bridge's (JWKS, issuer, audience,
  algorithms, leeway, longest lifetime), as the generated Apigee proxy has them;
- the token the emulator verified, forwarded to the bridge in the config's
  ``token_header`` (``X-Atc-Caller-Token``), since the emulator never forwards
  ``Authorization``. A caller's own copy of that header is dropped, so the
  bridge always acts on the token the gateway checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from copilot.bridge.catalog import PROXY, bridge_catalog
from copilot.bridge.config import BridgeConfig
from copilot.errors import ProductsError
from copilot.scopes.catalog import Catalog, build_catalog
from copilot.scopes.emulator_config import ProxyAuth
from copilot.scopes.keys import load_jwks
from copilot.scopes.sources import load_json


def proxy_auth(config: BridgeConfig) -> ProxyAuth:
    """The bridge proxy's VerifyJWT: the bridge's own rules, the token forwarded."""
    return ProxyAuth(
        jwks=load_jwks(config.jwks_ref),
        audience=config.audience,
        issuer=config.issuer,
        algorithms=config.algorithms,
        leeway_s=config.leeway_s,
        max_lifetime_s=config.max_token_lifetime_s,
        token_header=config.token_header,
    )


def merged_products(base: Any, config: BridgeConfig) -> tuple[dict[str, Any], list[str]]:
    """``base`` (a product document) plus the bridge's proxy and products; findings."""
    if not isinstance(base, dict):
        raise ProductsError("the product file must hold a JSON object to add the bridge to it")
    doc, findings = bridge_catalog(config)
    [bridge_proxy] = doc["proxies"]
    proxies = list(base.get("proxies") or [])
    taken = [
        p for p in proxies
        if isinstance(p, dict)
        and (p.get("name") == PROXY or p.get("basePath") == bridge_proxy["basePath"])
    ]  # fmt: skip
    if taken:
        raise ProductsError(
            f"the product file already has proxy {taken[0].get('name')!r} "
            f"({taken[0].get('basePath')}); the bridge needs {PROXY} on {bridge_proxy['basePath']}"
        )
    products = list(base.get("apiProduct") or [])
    names = {p.get("name") for p in products if isinstance(p, dict)}
    clash = [p["name"] for p in doc["apiProduct"] if p["name"] in names]
    if clash:
        raise ProductsError(f"the product file already has product {clash[0]!r}")
    merged = {**base, "proxies": [*proxies, bridge_proxy], "apiProduct": products}
    merged["apiProduct"] += doc["apiProduct"]
    return merged, findings


def front_bridge(
    products: Path, config: BridgeConfig, bridge_url: str
) -> tuple[Catalog, dict[str, str], dict[str, ProxyAuth], list[str]]:
    """(catalog, backends, per-proxy auth, findings) for an emulator that also fronts the bridge."""
    if not bridge_url.startswith(("http://", "https://")):
        raise ProductsError(f"bridge URL {bridge_url!r} must be http(s)://host:port")
    doc, findings = merged_products(load_json(products, "product file"), config)
    catalog = build_catalog(doc, source=f"{products} + {config.source or 'bridge config'}")
    return catalog, {PROXY: bridge_url}, {PROXY: proxy_auth(config)}, findings
