"""The Apigee side of the bridge: a proxy bundle that fronts it, and its API products.

``atc bridge artifacts --config FILE --out DIR [--target-server NAME]`` writes
``DIR/apiproxy/`` (proxy ``atc-bridge`` on base path ``/bridge``) and
``DIR/apiproducts.json`` (one product per route, :mod:`copilot.bridge.catalog`):

- PreFlow: refusal of method overrides and ambiguous paths (``RF-AmbiguousRequest``),
  VerifyJWT on the caller's token (``JWT-VerifyToken``: the bridge's JWKS URL,
  issuer, audience), VerifyAPIKey on the token's client id (``VA-VerifyClientKey``,
  so the app's API products are enforced, the pattern of Google's apigee-samples
  ``authorize-idp-access-tokens``), then a SpikeArrest per caller
  (``SA-PerCaller``, ``<Identifier ref="client_id"/>``, the variable VerifyAPIKey sets);
- one conditional flow per endpoint some route grants (start per type, status,
  each signal and update), each refusing with ``RF-InsufficientScope`` when the
  token carries none of the scopes that grant it, and a catch-all flow refusing
  everything else (``RF-UnknownOperation``);
- a TargetEndpoint to the bridge through a TargetServer
  (``<HTTPTargetConnection><LoadBalancer><Server name=.../>``). Unlike atc's
  other bundles it keeps ``Authorization``: the bridge verifies the token itself.
  It removes the config's ``token_header`` (``X-Atc-Caller-Token``) a caller may
  have sent (``AM-RemoveCallerTokenHeader``): only a gateway sets that header, and
  the bridge must see no token but the one VerifyJWT checked.

The policy XML comes from :mod:`copilot.scopes.bundle` and
:mod:`copilot.throttling.policies_xml` (escaping, names, conditions).
(cloud.google.com/apigee/docs/api-platform/reference/policies/verify-jwt-policy,
.../verify-api-key-policy, .../spike-arrest-policy, .../raise-fault-policy,
cloud.google.com/apigee/docs/api-platform/deploy/load-balancing-across-backend-servers)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from copilot.bridge.catalog import BASE_PATH, PROXY, bridge_catalog, route_scopes
from copilot.bridge.config import BridgeConfig
from copilot.errors import InputError
from copilot.scopes.bundle import (
    VERIFY_KEY,
    policies_for,
    policy_files,
    proxy_descriptor,
    proxy_endpoint,
    target_endpoint,
)
from copilot.scopes.operations import Operation
from copilot.throttling.policies_xml import spike_arrest_xml

SPIKE = "SA-PerCaller"
STRIP = "AM-RemoveCallerTokenHeader"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


@dataclass(frozen=True)
class BridgeArtifacts:
    """What :func:`write_bridge_artifacts` wrote."""

    bundle: Path
    products: Path
    operations: tuple[str, ...]
    findings: tuple[str, ...]


def bridge_operations(config: BridgeConfig) -> tuple[list[Operation], dict[str, tuple[str, ...]]]:
    """Every endpoint some route grants, and the scopes that grant each."""
    grants: dict[tuple[str, str], set[str]] = {}
    for route in config.routes:
        scopes = route_scopes(route)
        if not scopes:
            continue
        paths = [("POST", f"/v1/workflows/{t}") for t in route.workflows]
        paths += [("GET", "/v1/workflows/{id}")] if route.workflows else []
        paths += [("POST", f"/v1/workflows/{{id}}/signals/{s}") for s in route.signals]
        paths += [("POST", f"/v1/workflows/{{id}}/updates/{u}") for u in route.updates]
        for key in paths:
            grants.setdefault(key, set()).update(scopes)
    ops, by_id = [], {}
    for (method, path), scopes in sorted(grants.items()):
        op_id = re.sub(r"[^A-Za-z0-9]+", "-", f"{method} {path}").strip("-")[:200]
        if op_id in by_id:
            raise InputError(f"two endpoints would share the flow name {op_id!r}; rename a type")
        ops.append(Operation(op_id, PROXY, BASE_PATH, method, path, tuple(sorted(scopes))))
        by_id[op_id] = tuple(sorted(scopes))
    return ops, by_id


def _with_spike_arrest(proxy_xml: str) -> str:
    """Add the per-caller SpikeArrest right after the key check (it needs ``client_id``)."""
    step = f"      <Step>\n        <Name>{VERIFY_KEY}</Name>\n      </Step>\n"
    if proxy_xml.count(step) != 1:
        raise InputError("the generated ProxyEndpoint has no single key-check step")
    spike = f"      <Step>\n        <Name>{SPIKE}</Name>\n      </Step>\n"
    return proxy_xml.replace(step, step + spike)


def strip_header_policy(header: str) -> str:
    """AssignMessage removing a caller-sent ``header`` before the request reaches the bridge."""
    return f"""{_XML}<AssignMessage continueOnError="false" enabled="true" name="{STRIP}">
  <DisplayName>{STRIP}</DisplayName>
  <Description>Only a gateway sets {escape(header)}: a caller's own copy is removed.</Description>
  <Remove>
    <Headers>
      <Header name={quoteattr(header)}/>
    </Headers>
  </Remove>
  <IgnoreUnresolvedVariables>true</IgnoreUnresolvedVariables>
  <AssignTo createNew="false" transport="http" type="request"/>
</AssignMessage>
"""


def _with_strip_step(target_xml: str) -> str:
    """The target's PreFlow request runs :data:`STRIP` (it has no other step)."""
    empty = '  <PreFlow name="PreFlow">\n    <Request/>\n'
    if target_xml.count(empty) != 1:
        raise InputError("the generated TargetEndpoint has no single empty PreFlow request")
    step = f"      <Step>\n        <Name>{STRIP}</Name>\n      </Step>\n"
    return target_xml.replace(
        empty, f'  <PreFlow name="PreFlow">\n    <Request>\n{step}    </Request>\n'
    )


def write_bridge_artifacts(
    config: BridgeConfig,
    out_dir: str | Path,
    *,
    jwks_uri: str,
    target_server: str = "atc-bridge-backend",
    rate: str = "30ps",
    environments: tuple[str, ...] = ("prod",),
    client_id_claim: str = "client_id",
) -> BridgeArtifacts:
    """Write the bundle and the products; InputError for what cannot be written safely."""
    if not jwks_uri.startswith("https://"):
        raise InputError(f"VerifyJWT needs an https:// JWKS URL, not {jwks_uri!r} (--jwks-uri)")
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,255}", target_server):
        raise InputError(f"target server {target_server!r} is not a valid TargetServer name")
    ops, grants = bridge_operations(config)
    if not ops:
        raise InputError("no route names a scope and grants something: nothing to route")
    alg = config.algorithms[0]
    out = Path(out_dir)
    bundle = out / "apiproxy"
    files = {
        f"policies/{name}": xml
        for name, xml in policy_files(
            alg,
            jwks_uri,
            config.issuer,
            config.audience,
            None,  # type: ignore[arg-type]
            client_id_claim=client_id_claim,
        ).items()
        if name != "AM-RemoveAuthorization.xml"
    }
    files[f"policies/{SPIKE}.xml"] = spike_arrest_xml(SPIKE, rate, identifier="client_id")
    files[f"policies/{STRIP}.xml"] = strip_header_policy(config.token_header)
    policies = [p for p in policies_for("jwt") if p != "AM-RemoveAuthorization"] + [SPIKE, STRIP]
    files[f"{PROXY}.xml"] = proxy_descriptor(
        PROXY, BASE_PATH, "Generated by atc: fronts the atc bridge (docs/bridge.md).", policies
    )
    files["proxies/default.xml"] = _with_spike_arrest(proxy_endpoint(BASE_PATH, ops, grants))
    files["targets/default.xml"] = _with_strip_step(
        target_endpoint(
            target_server,
            remove_authorization=False,
            description="The atc bridge; it verifies the caller's token again itself.",
        )
    )
    for name, text in files.items():
        path = bundle / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    doc, findings = bridge_catalog(config)
    products = [{**p, "environments": sorted(environments)} for p in doc["apiProduct"]]
    products_path = out / "apiproducts.json"
    products_path.write_text(json.dumps({"apiProduct": products}, indent=2) + "\n", "utf-8")
    return BridgeArtifacts(bundle, products_path, tuple(op.id for op in ops), tuple(findings))
