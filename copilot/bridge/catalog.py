"""The gateway's view of the bridge: a proxy and one API product per route.

For the local emulator (``EmulatorConfig.backends`` maps the proxy to the
bridge) and, later, the Apigee bundle: the proxy ``atc-bridge`` on base path
``/bridge`` exposes exactly the bridge's endpoints, and each route becomes a
product granting its scopes exactly its operations, in Apigee's resource-path
syntax (``*`` is one segment;
cloud.google.com/apigee/docs/api-platform/publish/create-api-products):

- ``POST /v1/workflows/<type>`` for each type it may start,
- ``GET /v1/workflows/*`` (status of a workflow; the bridge checks its type),
- ``POST /v1/workflows/*/signals/<name>`` and ``.../updates/<name>``.

A route whose match names no scope cannot be expressed as a product (products
grant by scope) and is left out with a finding.
"""

from __future__ import annotations

from typing import Any

from copilot.bridge.config import BridgeConfig, Route

PROXY = "atc-bridge"
BASE_PATH = "/bridge"


def route_scopes(route: Route) -> tuple[str, ...]:
    """The scopes a route's match requires (``scope`` or ``scp``)."""
    wanted: list[str] = []
    for claim in ("scope", "scp"):
        value = route.match.get(claim)
        if value:
            wanted += [value] if isinstance(value, str) else list(value)
    return tuple(sorted(set(wanted)))


def route_operations(route: Route) -> list[dict[str, Any]]:
    """The product operations (resource + methods) a route is granted."""
    ops = [{"resource": f"/v1/workflows/{t}", "methods": ["POST"]} for t in route.workflows]
    if route.workflows:
        ops.append({"resource": "/v1/workflows/*", "methods": ["GET"]})
    ops += [
        {"resource": f"/v1/workflows/*/signals/{name}", "methods": ["POST"]}
        for name in route.signals
    ]
    ops += [
        {"resource": f"/v1/workflows/*/updates/{name}", "methods": ["POST"]}
        for name in route.updates
    ]
    return ops


def bridge_catalog(config: BridgeConfig, base_path: str = BASE_PATH) -> tuple[dict, list[str]]:
    """(the product document ``load_catalog``/``build_catalog`` read, findings)."""
    products, findings = [], []
    for route in config.routes:
        scopes = route_scopes(route)
        if not scopes:
            findings.append(f"route {route.name}: its match names no scope; no product for it")
            continue
        products.append(
            {
                "name": f"{PROXY}-{route.name}",
                "displayName": f"atc bridge: {route.name} ({route.namespace})",
                "approvalType": "manual",
                "attributes": [{"name": "access", "value": "private"}],
                "scopes": list(scopes),
                "operationGroup": {
                    "operationConfigType": "proxy",
                    "operationConfigs": [
                        {"apiSource": PROXY, "operations": route_operations(route)}
                    ],
                },
            }
        )
    proxy = {"name": PROXY, "basePath": base_path}
    return {"proxies": [proxy], "apiProduct": products}, findings
