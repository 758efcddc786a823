"""The catalog: API proxies, API products and the operations scopes grant.

``load_catalog(path)`` reads the file ``atc scopes`` and ``atc draft`` use: the
management API's product list with a ``proxies`` list beside it,
``{"proxies": [{"name", "basePath", "operations"?}], "apiProduct": [...]}``.
Operations come, in this order of precedence, from OpenAPI documents, the
operations listed beside the proxies, endpoints discovered in logs, and last
from operation-group entries of the products themselves (only for proxies
no other source describes). Two sources naming the same method and path
shape (parameter names aside) are one operation; the first source wins.

Each operation's ``scopes`` are computed with the Apigee matcher: a scope
grants an operation when one of its products grants the method on *every*
concrete path of the template (parameters stand for any one segment).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copilot.config import PACKAGE_DATA
from copilot.errors import ProductsError, ScopeDenied, UsageError
from copilot.scopes.operations import Operation, assign_ids, sample_suffix, shape
from copilot.scopes.products import ApiProduct, parse_products
from copilot.scopes.sources import (
    OperationDraft,
    Proxy,
    discovered_drafts,
    load_json,
    openapi_drafts,
    parse_proxies,
    proxy_for_path,
)
from copilot.scopes.tokens import parse_scopes

DEFAULT_PRODUCTS = PACKAGE_DATA / "products.json"
_PRECEDENCE = {"openapi": 0, "inline": 1, "logs": 2, "products": 3}


@dataclass(frozen=True)
class Catalog:
    """Everything the scope checks need, loaded once and shared (immutable)."""

    proxies: tuple[Proxy, ...]
    products: tuple[ApiProduct, ...]
    operations: tuple[Operation, ...]
    findings: tuple[str, ...] = ()
    source: str = ""

    @property
    def scopes(self) -> tuple[str, ...]:
        """Every scope some product holds, sorted."""
        return tuple(sorted({s for p in self.products for s in p.scopes}))

    def unknown_scopes(self, scopes: Iterable[str]) -> list[str]:
        """The given scopes no product holds (typos, or products not in the file)."""
        known = set(self.scopes)
        return sorted({s for s in scopes if s not in known})

    def known_scopes(self, value: Iterable[str] | str, *, what: str = "scopes") -> tuple[str, ...]:
        """Parsed scopes; none at all, or one no product holds, is a usage error
        (a typo would otherwise silently grant nothing). ``what`` names the input."""
        scopes = parse_scopes(value)
        if not scopes:
            raise UsageError(f"{what} needs at least one scope (e.g. orders.read)")
        unknown = self.unknown_scopes(scopes)
        if unknown:
            raise UsageError(
                f"no API product in {self.source} holds {', '.join(unknown)}; "
                f"known scopes: {', '.join(self.scopes)}"
            )
        return scopes

    def products_for(
        self, scopes: Iterable[str], environment: str | None = None
    ) -> list[ApiProduct]:
        """Products holding any of ``scopes`` (valid in ``environment``, if given)."""
        wanted = set(scopes)
        return [
            p
            for p in self.products
            if wanted.intersection(p.scopes) and p.in_environment(environment)
        ]

    def operations_for(self, scopes: Iterable[str]) -> list[Operation]:
        """The catalog operations that ``scopes`` grant, in catalog order."""
        wanted = set(scopes)
        return [op for op in self.operations if wanted.intersection(op.scopes)]

    def get_operation(self, operation_id: str) -> Operation | None:
        return next((op for op in self.operations if op.id == operation_id), None)

    def operation(self, operation_id: str) -> Operation:
        """The operation with this id; an unknown id is a scope denial."""
        op = self.get_operation(operation_id)
        if op is None:
            raise ScopeDenied(f"operation {operation_id!r} is not in the catalog")
        return op

    def proxy(self, name: str) -> Proxy | None:
        return next((p for p in self.proxies if p.name == name), None)

    def locate(self, path: str) -> tuple[Proxy, str] | None:
        """The proxy serving ``path`` (longest base path) and the path suffix."""
        return proxy_for_path(self.proxies, path)

    def find_operation(self, proxy: str, method: str, suffix: str) -> Operation | None:
        """The most specific catalog operation naming ``method suffix`` on ``proxy``."""
        best, best_score = None, -1
        for op in self.operations:
            if op.proxy == proxy:
                score = op.matches_suffix(method, suffix)
                if score > best_score:
                    best, best_score = op, score
        return best


def _granting_scopes(
    products: Iterable[ApiProduct], proxy: Proxy, method: str, template: str
) -> tuple[str, ...]:
    suffix = sample_suffix(template)
    scopes = {s for p in products if p.grant(proxy.name, suffix, method) for s in p.scopes}
    # One scope alone grants only if it also passes the proxy's VerifyAccessToken <Scope>.
    return tuple(sorted(s for s in scopes if proxy.scope_passes([s])))


def _product_drafts(products: Iterable[ApiProduct]) -> list[OperationDraft]:
    """Operations spelled out by operation-group entries with explicit methods."""
    drafts = []
    for product in products:
        for rule in product.rules:
            text = rule.pattern.text
            if rule.origin != "operationGroup" or not rule.methods or not rule.pattern.valid:
                continue
            if "**" in text or rule.proxy is None:
                continue
            parts = [p for p in text.strip("/").split("/") if p]
            n = sum(p == "*" for p in parts)
            names = iter(["{id}"] if n == 1 else [f"{{id{i}}}" for i in range(1, n + 1)])
            template = "/" + "/".join(next(names) if p == "*" else p for p in parts)
            drafts.extend(OperationDraft(rule.proxy, m, template, "products") for m in rule.methods)
    return drafts


def build_catalog(
    doc: Any,
    *,
    openapi: Iterable[tuple[Any, str | None]] = (),
    discovered: Iterable[Mapping[str, Any]] = (),
    source: str = "",
) -> Catalog:
    """A catalog from an already-parsed product document (see :func:`load_catalog`)."""
    if not isinstance(doc, (dict, list)):
        raise ProductsError("the product file must hold a JSON object or list")
    products = parse_products(doc)
    proxies, inline = parse_proxies(doc.get("proxies") if isinstance(doc, dict) else None)
    drafts: list[OperationDraft] = []
    for spec, proxy in openapi:
        drafts += openapi_drafts(spec, proxies, proxy=proxy)
    drafts += inline
    drafts += discovered_drafts(discovered, proxies)
    described = {d.proxy for d in drafts}
    drafts += [d for d in _product_drafts(products) if d.proxy not in described]
    names = {p.name for p in proxies}
    drafts = [d for d in drafts if d.proxy in names]
    chosen: dict[tuple[str, tuple[str, tuple[str | None, ...]]], OperationDraft] = {}
    for draft in sorted(drafts, key=lambda d: _PRECEDENCE[d.source]):
        chosen.setdefault((draft.proxy, shape(draft.method, draft.template)), draft)
    ordered = sorted(
        chosen.values(),
        key=lambda d: ([p.name for p in proxies].index(d.proxy), d.template, d.method),
    )
    ids = assign_ids([(d.proxy, d.method, d.template, d.explicit_id) for d in ordered])
    by_name = {p.name: p for p in proxies}
    operations = tuple(
        Operation(
            id=op_id,
            proxy=d.proxy,
            base_path=by_name[d.proxy].base_path,
            method=d.method,
            path_template=d.template,
            scopes=_granting_scopes(products, by_name[d.proxy], d.method, d.template),
            source=d.source,
            summary=d.summary,
        )
        for op_id, d in zip(ids, ordered, strict=True)
    )
    findings = [f for p in products for f in p.findings]
    for product in products:
        for name in sorted({r.proxy for r in product.rules if r.proxy and r.proxy not in names}):
            findings.append(
                f"product {product.name!r} grants proxy {name!r}, whose base path is not in the "
                f"file; requests to it cannot be checked and are refused"
            )
    return Catalog(tuple(proxies), tuple(products), operations, tuple(findings), source)


def load_catalog(
    path: str | Path | None = None,
    *,
    openapi: Iterable[str | Path | tuple[str | Path, str | None]] = (),
    discovered: Iterable[Mapping[str, Any]] = (),
) -> Catalog:
    """Load the product file (default: the shipped ``copilot/data/products.json``).

    ``openapi`` takes JSON OpenAPI files, or ``(file, proxy_name)`` pairs when a
    document's paths are relative to one proxy; ``discovered`` takes log
    records (see :mod:`copilot.scopes.sources`).
    """
    file = Path(path) if path is not None else DEFAULT_PRODUCTS
    doc = load_json(file, "product file")
    specs = []
    for item in openapi:
        spec_path, proxy = item if isinstance(item, tuple) else (item, None)
        specs.append((load_json(spec_path, "OpenAPI document"), proxy))
    return build_catalog(doc, openapi=specs, discovered=discovered, source=str(file))
