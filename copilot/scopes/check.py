"""The scope check: may these scopes make this request? One answer, one reason.

``check_request`` is the single decision used by all three locks: the static
validation of drafts, the gateway client in activities, and the local gateway
emulator. Order of decisions: the method, the headers, the URL (hostile forms
are refused by :mod:`copilot.scopes.urls`), the proxy owning the path (by base
path, case-sensitively), the proxy's own flows when it serves only its catalog
operations (``onlyListedOperations``, see :mod:`copilot.scopes.sources`), then
the granted API products with Apigee's own resource matching
(:mod:`copilot.scopes.matching`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from copilot.errors import ScopeDenied
from copilot.scopes.catalog import Catalog
from copilot.scopes.operations import Operation
from copilot.scopes.products import HTTP_METHODS, ApiProduct
from copilot.scopes.sources import Proxy
from copilot.scopes.urls import check_headers, check_method, parse_target


@dataclass(frozen=True)
class Decision:
    """The outcome of a scope check.

    ``scope`` is the scope that granted the request (None when denied);
    ``required`` lists scopes that would have granted it, when any exist.
    """

    allowed: bool
    reason: str
    scope: str | None = None
    operation: Operation | None = None
    product: str | None = None
    proxy: str | None = None
    path: str | None = None
    path_suffix: str | None = None
    required: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {
            "allowed": self.allowed,
            "reason": self.reason,
            "scope": self.scope,
            "operation": self.operation.id if self.operation else None,
            "product": self.product,
            "proxy": self.proxy,
            "path": self.path,
            "path_suffix": self.path_suffix,
            "required_scopes": list(self.required),
        }

    def raise_if_denied(self) -> Decision:
        """Raise :class:`ScopeDenied` with the reason when denied; else return self."""
        if not self.allowed:
            raise ScopeDenied(self.reason)
        return self


def _scope_list(scopes: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(scopes, str):
        scopes = scopes.replace(",", " ").split()
    return tuple(sorted({s.strip() for s in scopes if s and s.strip()}))


def check_request(
    catalog: Catalog,
    scopes: Iterable[str] | str,
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    gateway: str | None = None,
    environment: str | None = None,
) -> Decision:
    """Decide whether ``scopes`` may send ``method url`` (with ``headers``).

    ``url`` is a path (``/v1/orders/1?x=y``) or an absolute URL to ``gateway``
    (an origin such as ``https://api.example.com``). Never raises for a
    denial: the reason is in the returned :class:`Decision`.
    """
    granted = _scope_list(scopes)
    try:
        check_method(method)
        check_headers(headers)
        target = parse_target(url, gateway=gateway)
    except ScopeDenied as exc:
        return Decision(False, exc.message)
    path = target.path
    located = catalog.locate(path)
    if located is None:
        return _unrouted(catalog, path)
    proxy, suffix = located
    operation = catalog.find_operation(proxy.name, method, suffix)
    where = dict(operation=operation, proxy=proxy.name, path=path, path_suffix=suffix)
    if not granted:
        return Decision(False, "no scopes were granted", **where)
    refusal = _proxy_refusal(proxy, operation, granted, method, path)
    if refusal is not None:
        return Decision(False, refusal, **where)
    products = catalog.products_for(granted, environment)
    allowed = _product_grant(products, granted, proxy.name, suffix, method, path)
    if allowed is not None:
        return replace(allowed, **where)
    reason = _denial_reason(
        catalog, granted, products, proxy.name, suffix, method, path, environment
    )
    needed = _would_grant(catalog, proxy.name, suffix, method, environment)
    return Decision(False, reason, required=needed, **where)


def _unrouted(catalog: Catalog, path: str) -> Decision:
    """The denial for a path no proxy's base path owns (case-sensitively)."""
    folded = _locate_folded(catalog, path)
    if folded is not None:
        return Decision(
            False,
            f"{path} matches base path {folded[0].base_path} only if letter case is "
            f"ignored; Apigee routes base paths case-sensitively",
            path=path,
        )
    return Decision(False, f"no API proxy in the catalog serves {path}", path=path)


def _proxy_refusal(
    proxy: Proxy, operation: Operation | None, granted: tuple[str, ...], method: str, path: str
) -> str | None:
    """Why the proxy itself refuses the request before any product is asked (None: it does not)."""
    if proxy.listed_only and operation is None:
        # The proxy's own flows refuse it, whatever a product grants (its catch-all flow).
        return (
            f"{method} {path} is not an operation of proxy {proxy.name}; the proxy serves only "
            f"its catalog operations and refuses anything else, whatever the scopes"
        )
    if not proxy.scope_passes(granted):
        groups = "; ".join(" or ".join(g) for g in proxy.token_scopes)
        return (
            f"proxy {proxy.name} verifies the access token with <Scope> {groups}; "
            f"granted: {', '.join(granted)}"
        )
    return None


def _product_grant(
    products: list[ApiProduct],
    granted: tuple[str, ...],
    proxy: str,
    suffix: str,
    method: str,
    path: str,
) -> Decision | None:
    """The first granted product whose resources allow the request (None: none does)."""
    for product in products:
        rule = product.grant(proxy, suffix, method)
        if rule is not None:
            scope = next(s for s in product.scopes if s in granted)
            return Decision(
                True,
                f"{method} {path} is granted by scope {scope} "
                f"(API product {product.name}: {rule.describe()})",
                scope=scope,
                product=product.name,
            )
    return None


def _locate_folded(catalog: Catalog, path: str) -> tuple[Proxy, str] | None:
    lowered = path.lower()
    for proxy in catalog.proxies:
        base = proxy.base_path.lower()
        if lowered == base or lowered.startswith(base + "/"):
            return proxy, path[len(base) :]
    return None


def _would_grant(
    catalog: Catalog, proxy: str, suffix: str, method: str, environment: str | None
) -> tuple[str, ...]:
    scopes = {
        s
        for p in catalog.products
        if p.in_environment(environment) and p.grant(proxy, suffix, method)
        for s in p.scopes
    }
    return tuple(sorted(scopes))


def _denial_reason(
    catalog: Catalog,
    granted: tuple[str, ...],
    products: list[ApiProduct],
    proxy: str,
    suffix: str,
    method: str,
    path: str,
    environment: str | None,
) -> str:
    unknown = catalog.unknown_scopes(granted)
    note = f" (no API product holds {', '.join(unknown)})" if unknown else ""
    shown = suffix or "(the base path)"
    for product in products:
        if product.grant(proxy, suffix, method, ignore_case=True):
            return (
                f"{path} matches a resource of product {product.name} only if letter case is "
                f"ignored; atc matches case-sensitively and refuses the ambiguity"
            )
    other_methods = sorted(
        {
            m
            for product in products
            for m in HTTP_METHODS
            if m != method and product.grant(proxy, suffix, m)
        }
    )
    needed = _would_grant(catalog, proxy, suffix, method, environment)
    if other_methods:
        hint = f"; {method} there needs scope {' or '.join(needed)}" if needed else ""
        return (
            f"method {method} is not granted on {path}; the granted scopes allow only "
            f"{', '.join(other_methods)} there{hint}{note}"
        )
    if needed:
        return (
            f"{method} {path} needs scope {' or '.join(needed)}; granted: "
            f"{', '.join(granted)}{note}"
        )
    return (
        f"no API product grants {method} on {shown} of proxy {proxy} "
        f"to any scope; granted: {', '.join(granted)}{note}"
    )


def check_operation(catalog: Catalog, scopes: Iterable[str] | str, operation_id: str) -> Decision:
    """Decide whether ``scopes`` may call the catalog operation ``operation_id``.

    The static lock for drafts: the operation must exist and one of the
    scopes must grant it for every value of its parameters.
    """
    granted = _scope_list(scopes)
    op = catalog.get_operation(operation_id)
    if op is None:
        return Decision(False, f"operation {operation_id!r} is not in the catalog")
    hit = sorted(set(granted) & set(op.scopes))
    where = dict(operation=op, proxy=op.proxy, path=op.full_template)
    if hit:
        return Decision(
            True, f"operation {op.id} is granted by scope {hit[0]}", scope=hit[0], **where
        )
    needs = " or ".join(op.scopes) if op.scopes else "a scope no API product offers"
    return Decision(
        False,
        f"operation {op.id} ({op.method} {op.full_template}) needs {needs}; "
        f"granted: {', '.join(granted) or 'none'}",
        required=op.scopes,
        **where,
    )
