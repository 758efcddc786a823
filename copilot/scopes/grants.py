"""Every grant a scope set holds, as ``atc scopes list`` shows it.

:func:`scope_grants` lists what :func:`copilot.scopes.check.check_request`
would allow, grant by grant, so nothing it allows is missing from the list:

- a product rule on a proxy that serves any path becomes one row in Apigee
  resource syntax (``kind="resource"``): ``/`` = the base path and every path
  below it, ``/*`` one segment, ``/**`` every sub-path; no methods = every
  method (empty ``methods`` lists, legacy ``apiResources``, products naming a
  proxy without resources). A rule naming no proxy is listed for every
  catalog proxy (it reaches any proxy in the organisation; check can only
  route to catalog proxies).
- on a proxy that serves only its catalog operations (``onlyListedOperations``)
  a rule is narrowed to those operations (``kind="operation"``: the path is a
  template whose ``{param}`` segments stand for one segment, matched exactly).
  When a rule grants an operation only for some parameter values (resource
  ``/admin`` and operation ``/{id}``), the row names those values.

A proxy whose VerifyAccessToken ``<Scope>`` refuses the scope lists nothing
for it. Rules Apigee would not accept grant nothing and are not listed (they are
findings of the catalog). Environments are not filtered: ``scopes check``
without ``--environment`` does not filter them either.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from copilot.scopes.catalog import Catalog
from copilot.scopes.matching import methods_allow
from copilot.scopes.operations import PARAM_SENTINEL, Operation, join_base, segments
from copilot.scopes.products import ResourceRule
from copilot.scopes.sources import Proxy


@dataclass(frozen=True)
class Grant:
    """One thing a scope allows: methods on a path pattern of one proxy."""

    scope: str
    product: str
    proxy: str
    base_path: str
    kind: str  # "resource" (Apigee resource path, relative) | "operation" (template, relative)
    path: str
    methods: tuple[str, ...]  # () = every method
    origin: str
    operation: str | None = None

    @property
    def full_path(self) -> str:
        """Base path + path (for resource ``/``: the base path and everything below it)."""
        if self.kind == "resource" and self.path == "/":
            return f"{self.base_path} (and every path below it)"
        return join_base(self.base_path, self.path)

    def to_dict(self) -> dict[str, object]:
        return {
            "scope": self.scope,
            "product": self.product,
            "proxy": self.proxy,
            "base_path": self.base_path,
            "kind": self.kind,
            "path": self.path,
            "methods": list(self.methods),
            "origin": self.origin,
            "operation": self.operation,
        }


def _operation_rows(rule: ResourceRule, op: Operation) -> list[str]:
    """The paths (template syntax) on which ``rule`` grants ``op``; [] when none.

    A parameter either stays free (``PARAM_SENTINEL``: the rule matches any
    value there) or takes one of the rule's literal segments, the only values a
    rule can match that "any value" does not.
    """
    parts = segments(op.path_template)
    params = [i for i, s in enumerate(parts) if s.startswith("{")]
    literals = [s for s in rule.pattern.text.split("/") if s and s not in ("*", "**")]
    choices = [[PARAM_SENTINEL, *dict.fromkeys(literals)] for _ in params]

    def path(values: tuple[str, ...], free: str | None) -> str:
        concrete = list(parts)
        for i, value in zip(params, values, strict=True):
            concrete[i] = parts[i] if value == PARAM_SENTINEL and free else value
        return "/" + "/".join(concrete) if concrete else ""

    matching = [v for v in itertools.product(*choices) if rule.pattern.matches(path(v, None))]

    def general(a: tuple[str, ...], b: tuple[str, ...]) -> bool:  # b covers a
        return a != b and all(y in (PARAM_SENTINEL, x) for x, y in zip(a, b, strict=True))

    kept = [v for v in matching if not any(general(v, w) for w in matching)]
    return [path(v, "template") or "/" for v in kept]


def _rows_for(
    catalog: Catalog, scope: str, product: str, rule: ResourceRule, proxy: Proxy
) -> list[Grant]:
    common = dict(scope=scope, product=product, proxy=proxy.name, base_path=proxy.base_path)
    if not proxy.listed_only:
        return [
            Grant(**common, kind="resource", path=rule.pattern.text, methods=rule.methods,
                  origin=rule.origin)
        ]  # fmt: skip
    out = []
    for op in catalog.operations:
        if op.proxy != proxy.name or not methods_allow(rule.methods, op.method):
            continue
        for path in _operation_rows(rule, op):
            out.append(
                Grant(**common, kind="operation", path=path, methods=(op.method,),
                      origin=f"{rule.origin}, narrowed by the proxy's flows", operation=op.id)
            )  # fmt: skip
    return out


def scope_grants(catalog: Catalog, scopes: Iterable[str] | None = None) -> list[Grant]:
    """Every grant of ``scopes`` (default: every scope), product by product, deduplicated."""
    wanted = set(catalog.scopes if scopes is None else scopes)
    seen: set[tuple] = set()
    grants = []
    for product in catalog.products:
        for scope in sorted(wanted.intersection(product.scopes)):
            for rule in product.rules:
                if not rule.pattern.valid:
                    continue
                targets = [catalog.proxy(rule.proxy)] if rule.proxy else list(catalog.proxies)
                for proxy in targets:
                    if proxy is None or not proxy.scope_passes([scope]):
                        continue  # unknown base path, or the proxy's <Scope> refuses the scope
                    for grant in _rows_for(catalog, scope, product.name, rule, proxy):
                        key = (grant.scope, grant.proxy, grant.kind, grant.path, grant.methods)
                        if key not in seen:
                            seen.add(key)
                            grants.append(grant)
    return grants
