"""Apigee artifacts that make the gateway itself enforce a workflow's scopes.

For a workflow identity and its granted operations atc writes:

- ``apiproduct.json``: an API product (management API shape) whose operation
  group lists the granted operations, one ``{resource, methods}`` per path,
  parameters as ``*``. Apigee resource paths cannot say "the base path only":
  an operation on the base path needs resource ``/``, which grants every path
  of the proxy for that method (``/**`` misses the base path, ``/*`` is one
  segment below it, and ``{x}`` is no wildcard in a product). So each
  operation is carried by one of two locks, reported per operation
  (:func:`operation_locks`): ``product resource /x/* exact``, or
  ``product resource / + proxy flow condition`` where the bundle's flows
  close the gap.
- ``proxies/<proxy>/apiproxy/``: a bundle per proxy, named like the catalog
  proxy and on its real base path, because the product's ``apiSource`` must
  name the proxy that runs the key check (so it is a new revision of that
  proxy, not a second proxy beside it; ``atc suggest --policies-out`` bundles
  are named ``<proxy>-limits`` and never collide). PreFlow: refusal of
  method-override headers and ambiguous paths (``RF-AmbiguousRequest``),
  then token verification that also enforces the product
  (:mod:`copilot.scopes.bundle`: VerifyJWT + VerifyAPIKey on the token's
  client-id claim, or OAuthV2 VerifyAccessToken with ``--token-kind apigee``).
  One conditional flow per granted operation whose ``RF-InsufficientScope``
  step (RaiseFault, 403 ``steps.oauth.v2.InsufficientScope``) fires when the
  token lacks every scope that grants it, a last flow refusing any other
  request (``RF-UnknownOperation``), and an AssignMessage that keeps the
  token from the backend. No JavaScript: conditions only.

Environments and the TargetServer are parameters (``--env``,
``--target-server``). Conditions match claims with ``~~`` (JavaRegex),
anchored at both ends, with regex metacharacters written as ``[.]`` so no
backslash escaping is needed inside the condition string.
(cloud.google.com/apigee/docs/api-platform/reference/policies/verify-jwt-policy,
.../verify-api-key-policy, .../oauthv2-policy, .../raise-fault-policy,
.../reference/conditions-reference,
cloud.google.com/apigee/docs/api-platform/publish/create-api-products)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from copilot.errors import InputError
from copilot.scopes.bundle import (
    TOKEN_KINDS,
    policies_for,
    policy_files,
    proxy_descriptor,
    proxy_endpoint,
    resource_for,
    target_endpoint,
)
from copilot.scopes.catalog import Catalog
from copilot.scopes.check import check_operation
from copilot.scopes.operations import Operation
from copilot.scopes.tokens import parse_scopes


@dataclass(frozen=True)
class ArtifactSet:
    """What :func:`write_artifacts` produced."""

    product_name: str
    product_path: Path
    bundles: dict[str, Path]  # proxy name -> apiproxy directory
    operations: tuple[str, ...]
    locks: dict[str, str] = field(default_factory=dict)  # operation id -> the lock carrying it


def product_name_for(identity: str) -> str:
    return "atc-" + (re.sub(r"[^A-Za-z0-9._-]+", "-", identity).strip("-") or "workflow")


def granted_operations(
    catalog: Catalog, scopes: Iterable[str], operations: Iterable[str] | None = None
) -> list[Operation]:
    """The operations to grant: the listed ones (each must be granted), else all granted."""
    granted = parse_scopes(list(scopes))
    if operations is None:
        ops = catalog.operations_for(granted)
    else:
        ops = []
        for op_id in operations:
            decision = check_operation(catalog, granted, op_id).raise_if_denied()
            assert decision.operation is not None
            ops.append(decision.operation)
    if not ops:
        raise InputError(f"the scopes {', '.join(granted) or '(none)'} grant no catalog operation")
    return ops


def operation_lock(op: Operation) -> str:
    """Which lock makes the grant of ``op`` exact (see the module docstring)."""
    resource = resource_for(op)
    if resource == "/":
        return (
            f"product resource / ({op.method} on every path of {op.proxy}) + proxy flow "
            f'condition proxy.pathsuffix = "" or "/"'
        )
    return f"product resource {resource} exact"


def operation_locks(ops: Iterable[Operation]) -> dict[str, str]:
    """Operation id -> the lock that carries it."""
    return {op.id: operation_lock(op) for op in ops}


def target_servers(proxies: Iterable[str], spec: Iterable[str] = ()) -> dict[str, str]:
    """TargetServer per proxy from ``NAME`` (every proxy) and ``PROXY=NAME`` items.

    Proxies neither names get ``<proxy>-backend``.
    """
    proxies = list(proxies)
    items = list(spec)
    general = [i for i in items if "=" not in i]
    specific = dict(i.split("=", 1) for i in items if "=" in i)
    if len(general) > 1:
        raise InputError(f"more than one target server for every proxy: {', '.join(general)}")
    for name in [*general, *specific.values()]:
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,255}", name):
            raise InputError(f"target server {name!r} is not a valid TargetServer name")
    unknown = sorted(set(specific) - set(proxies))
    if unknown:
        raise InputError(f"--target-server names proxies the workflow does not call: {unknown}")
    fallback = general[0] if general else None
    return {p: specific.get(p) or fallback or f"{p}-backend" for p in proxies}


def api_product(
    identity: str, scopes: Iterable[str], ops: list[Operation], environments: Iterable[str]
) -> dict:
    """The API product for the workflow: exactly these operations, these scopes."""
    by_proxy: dict[str, dict[str, set[str]]] = {}
    for op in ops:
        by_proxy.setdefault(op.proxy, {}).setdefault(resource_for(op), set()).add(op.method)
    return {
        "name": product_name_for(identity),
        "displayName": f"atc workflow {identity}",
        "description": f"Generated by atc for workflow identity {identity}; grants "
        f"{len(ops)} operation(s). Do not edit by hand.",
        "approvalType": "manual",
        "attributes": [{"name": "access", "value": "private"}],
        "environments": sorted(set(environments)),
        "scopes": sorted({s for s in parse_scopes(list(scopes))}),
        "operationGroup": {
            "operationConfigType": "proxy",
            "operationConfigs": [
                {
                    "apiSource": proxy,
                    "operations": [
                        {"resource": res, "methods": sorted(methods)}
                        for res, methods in sorted(resources.items())
                    ],
                }
                for proxy, resources in sorted(by_proxy.items())
            ],
        },
    }


def write_artifacts(
    catalog: Catalog,
    out_dir: str | Path,
    *,
    identity: str,
    scopes: Iterable[str],
    jwks_uri: str,
    issuer: str,
    audience: str,
    environments: Iterable[str] = ("prod",),
    operations: Iterable[str] | None = None,
    alg: str = "RS256",
    targets: dict[str, str] | None = None,
    token_kind: str = "jwt",
    client_id_claim: str = "client_id",
) -> ArtifactSet:
    """Write the API product and one proxy bundle per proxy the workflow calls.

    ``targets`` maps proxy names to the TargetServer each bundle's
    TargetEndpoint uses (default ``<proxy>-backend``, path = the base path;
    see :func:`target_servers`). ``token_kind`` is ``jwt`` (VerifyJWT, then
    VerifyAPIKey on claim ``client_id_claim``) or ``apigee`` (OAuthV2
    VerifyAccessToken with the workflow's scopes).
    """
    envs = sorted(set(environments))
    _check_inputs(token_kind, envs, alg, identity)
    granted = parse_scopes(list(scopes))
    ops = granted_operations(catalog, granted, operations)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    product = api_product(identity, granted, ops, envs)
    product_path = out / "apiproduct.json"
    product_path.write_text(json.dumps(product, indent=2) + "\n", encoding="utf-8")
    policies = policy_files(
        alg, jwks_uri, issuer, audience, identity,
        token_kind=token_kind, client_id_claim=client_id_claim, scopes=granted,
    )  # fmt: skip
    bundles: dict[str, Path] = {}
    for proxy in sorted({op.proxy for op in ops}):
        mine = [op for op in ops if op.proxy == proxy]
        target = (targets or {}).get(proxy) or f"{proxy}-backend"
        files = _bundle_files(proxy, mine, granted, identity, token_kind, target)
        files.update({f"policies/{name}": xml for name, xml in policies.items()})
        bundles[proxy] = _write_tree(out / "proxies" / proxy / "apiproxy", files)
    return ArtifactSet(
        product["name"], product_path, bundles, tuple(op.id for op in ops), operation_locks(ops)
    )


def _check_inputs(token_kind: str, envs: list[str], alg: str, identity: str) -> None:
    if token_kind not in TOKEN_KINDS:
        raise InputError(f"token kind {token_kind!r} must be one of {', '.join(TOKEN_KINDS)}")
    if not envs or any(not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", e) for e in envs):
        raise InputError(f"environments {envs} must be one or more Apigee environment names")
    if alg not in ("RS256", "ES256"):
        raise InputError(f"algorithm {alg!r} is not supported; use RS256 or ES256")
    if not identity or not identity.strip():
        raise InputError("a workflow identity is needed (it becomes the token subject)")


def _bundle_files(
    proxy: str,
    mine: list[Operation],
    granted: tuple[str, ...],
    identity: str,
    token_kind: str,
    target: str,
) -> dict[str, str]:
    """One proxy's descriptor and endpoints (relative path -> XML); policies come apart."""
    base_path = mine[0].base_path
    grants = {op.id: tuple(s for s in op.scopes if s in granted) for op in mine}
    return {
        f"{proxy}.xml": proxy_descriptor(
            proxy,
            base_path,
            f"Scope enforcement for atc workflow {identity}",
            policies_for(token_kind),
        ),
        "proxies/default.xml": proxy_endpoint(base_path, mine, grants, token_kind),
        "targets/default.xml": target_endpoint(target, base_path),
    }


def _write_tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
