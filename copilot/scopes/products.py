"""Apigee API products as the management API returns them, parsed into grants.

Input is the product list of ``GET /v1/organizations/{org}/apiproducts?expand=true``
(``{"apiProduct": [...]}``), optionally with a ``proxies`` list beside it that
gives each API proxy's base path (and, an atc addition, its operations).

Which part of a product is enforced (Apigee v1 API reference, ``ApiProduct``;
cloud.google.com/apigee/docs/api-platform/publish/create-api-products):

- With ``operationGroup.operationConfigs``, those are what is enforced: each
  config names a proxy (``apiSource``) and ``operations[]`` of
  ``{resource, methods}`` (no methods = all). ``apiResources``/``proxies`` are
  then ignored.
- Otherwise (legacy): ``apiResources`` apply to every proxy in ``proxies``,
  with every method. No resources = every path of those proxies. No proxies =
  every proxy in the organisation, which atc reports as a finding.

Cases Apigee leaves undocumented are read so that atc never allows more than
the gateway: an operation config with no operations, a ``remoteservice``
config, and GraphQL/gRPC groups grant nothing here, and each is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from copilot.errors import ProductsError
from copilot.scopes.matching import ResourcePattern, compile_resource, methods_allow

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 scope-token
_NAME = re.compile(r"^[A-Za-z0-9._\-$ %]+$")  # Apigee entity names
_DETAIL_KEYS = {"scopes", "proxies", "apiResources", "operationGroup", "environments"}


@dataclass(frozen=True)
class ResourceRule:
    """One thing a product grants: a resource path on a proxy, for some methods."""

    proxy: str | None  # None: every proxy in the organisation
    pattern: ResourcePattern
    methods: tuple[str, ...]  # () = every method
    origin: str  # "operationGroup" | "apiResources" | "proxy without resources"

    def allows(self, proxy: str, suffix: str, method: str, *, ignore_case: bool = False) -> bool:
        """Whether this rule grants ``method`` on ``suffix`` of ``proxy``."""
        if self.proxy is not None and self.proxy != proxy:
            return False
        if not methods_allow(self.methods, method):
            return False
        if ignore_case:
            return self.pattern.matches_ignoring_case(suffix)
        return self.pattern.matches(suffix)

    def describe(self) -> str:
        verbs = ",".join(self.methods) if self.methods else "any method"
        where = self.proxy or "any proxy"
        return f"{verbs} {self.pattern.text} on {where} ({self.origin})"


@dataclass(frozen=True)
class ApiProduct:
    """An API product: its OAuth scopes and the resource rules it grants."""

    name: str
    scopes: tuple[str, ...]
    environments: tuple[str, ...]
    proxies: tuple[str, ...]
    rules: tuple[ResourceRule, ...]
    mode: str  # "operationGroup" | "apiResources"
    display_name: str = ""
    findings: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def grant(
        self, proxy: str, suffix: str, method: str, *, ignore_case: bool = False
    ) -> ResourceRule | None:
        """The first rule granting the request, or None."""
        for rule in self.rules:
            if rule.allows(proxy, suffix, method, ignore_case=ignore_case):
                return rule
        return None

    def in_environment(self, environment: str | None) -> bool:
        """No environment given, or none listed (= all, a finding), or listed."""
        return environment is None or not self.environments or environment in self.environments


def _strings(value: Any, what: str, product: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProductsError(f"product {product!r}: {what} must be a list of strings")
    return tuple(value)


def _methods(value: Any, product: str) -> tuple[str, ...]:
    methods = tuple(m.strip().upper() for m in _strings(value, "methods", product))
    for method in methods:
        if method not in HTTP_METHODS:
            raise ProductsError(f"product {product!r}: unknown HTTP method {method!r}")
    return tuple(sorted(set(methods)))


def _operation_rules(group: Any, name: str, findings: list[str]) -> list[ResourceRule]:
    if not isinstance(group, dict):
        raise ProductsError(f"product {name!r}: operationGroup must be an object")
    configs = group.get("operationConfigs") or []
    if not isinstance(configs, list):
        raise ProductsError(f"product {name!r}: operationConfigs must be a list")
    if group.get("operationConfigType", "proxy") != "proxy":
        findings.append(
            f"product {name!r}: operationConfigType "
            f"{group.get('operationConfigType')!r} is not modelled; it grants nothing here"
        )
        return []
    if not configs:
        findings.append(f"product {name!r}: operationGroup has no operationConfigs; grants nothing")
    rules: list[ResourceRule] = []
    for config in configs:
        if not isinstance(config, dict) or not isinstance(config.get("apiSource"), str):
            raise ProductsError(f"product {name!r}: each operationConfig needs an apiSource")
        source = config["apiSource"]
        operations = config.get("operations") or []
        if not isinstance(operations, list):
            raise ProductsError(f"product {name!r}: operations of {source!r} must be a list")
        if not operations:
            findings.append(
                f"product {name!r}: the operation config for {source!r} lists no operations; "
                f"Apigee does not document what that grants, so atc grants nothing from it"
            )
        for op in operations:
            if not isinstance(op, dict) or not isinstance(op.get("resource"), str):
                raise ProductsError(f"product {name!r}: each operation needs a resource string")
            pattern = compile_resource(op["resource"])
            if pattern.problem:
                findings.append(f"product {name!r}: {pattern.problem}; it grants nothing")
            rules.append(
                ResourceRule(source, pattern, _methods(op.get("methods"), name), "operationGroup")
            )
    return rules


def _legacy_rules(
    proxies: tuple[str, ...], resources: tuple[str, ...], name: str, findings: list[str]
) -> list[ResourceRule]:
    targets: tuple[str | None, ...] = proxies or (None,)
    if not proxies:
        findings.append(
            f"product {name!r} names no API proxy: its apps may call any API in the organisation"
        )
    if not resources:
        everything = compile_resource("/")
        return [ResourceRule(p, everything, (), "proxy without resources") for p in targets]
    findings.append(f"product {name!r} uses legacy apiResources, which cannot limit HTTP methods")
    rules = []
    for text in resources:
        pattern = compile_resource(text)
        if pattern.problem:
            findings.append(f"product {name!r}: {pattern.problem}; it grants nothing")
        rules.extend(ResourceRule(p, pattern, (), "apiResources") for p in targets)
    return rules


def parse_product(obj: Any) -> ApiProduct:
    """One management-API product object -> :class:`ApiProduct` (or ProductsError)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not obj["name"]:
        raise ProductsError("each API product must be an object with a non-empty name")
    name = obj["name"]
    if not _NAME.match(name):
        raise ProductsError(f"product name {name!r} has characters Apigee does not allow")
    if not _DETAIL_KEYS & obj.keys():
        raise ProductsError(
            f"product {name!r} carries only its name; list products with ?expand=true"
        )
    scopes = tuple(s.strip() for s in _strings(obj.get("scopes"), "scopes", name) if s.strip())
    for scope in scopes:
        if not _SCOPE.match(scope):
            raise ProductsError(f"product {name!r}: scope {scope!r} is not a valid scope token")
    environments = _strings(obj.get("environments"), "environments", name)
    proxies = _strings(obj.get("proxies"), "proxies", name)
    resources = _strings(obj.get("apiResources"), "apiResources", name)
    findings: list[str] = []
    if not environments:
        findings.append(f"product {name!r} lists no environment: it is valid in all of them")
    if not scopes:
        findings.append(f"product {name!r} has no OAuth scopes: no scope can grant it")
    for other in ("graphqlOperationGroup", "grpcOperationGroup"):
        if obj.get(other):
            findings.append(f"product {name!r}: {other} is not modelled; it grants nothing here")
    group = obj.get("operationGroup")
    if group:
        mode = "operationGroup"
        rules = _operation_rules(group, name, findings)
        if resources:
            findings.append(
                f"product {name!r} has both operationGroup and apiResources; "
                f"the operation group is enforced"
            )
    elif obj.get("graphqlOperationGroup") or obj.get("grpcOperationGroup"):
        mode, rules = "operationGroup", []
    else:
        mode = "apiResources"
        rules = _legacy_rules(proxies, resources, name, findings)
    return ApiProduct(
        name=name,
        scopes=scopes,
        environments=environments,
        proxies=proxies,
        rules=tuple(rules),
        mode=mode,
        display_name=str(obj.get("displayName") or name),
        findings=tuple(findings),
        raw=obj,
    )


def parse_products(doc: Any) -> list[ApiProduct]:
    """The product list from ``{"apiProduct": [...]}``, a bare list, or one product object
    (what ``GET .../apiproducts/{name}`` returns)."""
    if isinstance(doc, dict) and isinstance(doc.get("name"), str) and _DETAIL_KEYS & doc.keys():
        doc = [doc]
    items = doc.get("apiProduct", doc.get("apiProducts")) if isinstance(doc, dict) else doc
    if items is None and isinstance(doc, dict):
        raise ProductsError('no "apiProduct" list in the product file')
    if not isinstance(items, list):
        raise ProductsError('"apiProduct" must be a list of API products')
    products = [parse_product(item) for item in items]
    seen: set[str] = set()
    for product in products:
        if product.name in seen:
            raise ProductsError(f"API product {product.name!r} appears twice")
        seen.add(product.name)
    return products
