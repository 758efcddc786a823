"""Where catalog operations come from, besides the API products themselves.

- ``proxies`` beside the products: ``{"name", "basePath", "operations":
  [{"method", "path", "operationId"?, "summary"?}], "onlyListedOperations"?}``
  (``operations`` and ``onlyListedOperations`` are atc additions to the
  management API's shape; ``path`` is relative to basePath).
  ``onlyListedOperations: true`` says the proxy itself has one conditional
  flow per catalog operation and a last flow that refuses anything else (as
  the bundles of ``atc scopes artifacts`` do): the product grants a request
  only if the proxy also serves it as a catalog operation. This is how a
  grant Apigee products cannot express exactly (an operation on the base path
  needs resource ``/``, which covers every path) becomes exact.
  ``verifyAccessTokenScopes: ["a b", ...]`` (atc addition) models the
  ``<Scope>`` of OAuthV2 VerifyAccessToken policies the proxy runs on every
  request: each entry is one policy's space-separated list, and the token
  must carry one scope of every entry (:func:`bundle_token_scopes` reads them
  from a bundle). (cloud.google.com/apigee/docs/api-platform/reference/policies/oauthv2-policy, "Scope")
- OpenAPI 3 / Swagger 2 documents of the proxies (JSON). Each path is joined
  to the document's server path (``servers[0].url`` or ``basePath``) and
  assigned to the proxy whose base path is its longest prefix.
- Endpoints discovered in the logs: canonical records with ``proxy``,
  ``basepath``, ``verb`` and ``pathsuffix`` (or ``path``); concrete values
  become ``{id}`` parameters (a segment holding a digit, or a UUID).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from copilot.errors import ProductsError
from copilot.scopes.operations import normalize_template
from copilot.scopes.products import HTTP_METHODS

_BASE_PATH = re.compile(r"^(/[A-Za-z0-9\-._~!$&'()+,=:@]+)+$|^/$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class Proxy:
    """An API proxy: its name and base path.

    ``listed_only``: the proxy's flows refuse every request that is not one of
    its catalog operations (see the module docstring).
    """

    name: str
    base_path: str
    listed_only: bool = False
    token_scopes: tuple[tuple[str, ...], ...] = ()  # VerifyAccessToken <Scope> lists

    def scope_passes(self, scopes: Iterable[str]) -> bool:
        """Whether a token with ``scopes`` passes every VerifyAccessToken <Scope> of the proxy."""
        held = set(scopes)
        return all(held.intersection(group) for group in self.token_scopes)


@dataclass(frozen=True)
class OperationDraft:
    """An operation before its id and scopes are known."""

    proxy: str
    method: str
    template: str
    source: str
    explicit_id: str | None = None
    summary: str = ""


def _method(value: Any, where: str) -> str:
    method = str(value or "").strip().upper()
    if method not in HTTP_METHODS:
        raise ProductsError(f"{where}: unknown HTTP method {value!r}")
    return method


def parse_proxies(items: Any) -> tuple[list[Proxy], list[OperationDraft]]:
    """The ``proxies`` list beside the products: base paths and inline operations."""
    if items is None:
        return [], []
    if not isinstance(items, list):
        raise ProductsError('"proxies" must be a list of {"name", "basePath"} objects')
    proxies: list[Proxy] = []
    drafts: list[OperationDraft] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ProductsError('each entry of "proxies" needs a "name"')
        name = item["name"]
        base = item.get("basePath", item.get("base_path"))
        if isinstance(base, str) and len(base) > 1 and base.endswith("/"):
            raise ProductsError(f"proxy {name!r}: basePath {base!r} ends in '/'")
        if not isinstance(base, str) or not _BASE_PATH.match(base) or "//" in base:
            raise ProductsError(f"proxy {name!r}: basePath {base!r} is not a clean absolute path")
        listed_only = item.get("onlyListedOperations", False)
        if not isinstance(listed_only, bool):
            raise ProductsError(f"proxy {name!r}: onlyListedOperations must be true or false")
        groups = item.get("verifyAccessTokenScopes") or []
        if not isinstance(groups, list) or not all(isinstance(g, str) and g.split() for g in groups):
            raise ProductsError(
                f"proxy {name!r}: verifyAccessTokenScopes must be a list of space-separated scopes"
            )
        token_scopes = tuple(tuple(sorted(set(g.split()))) for g in groups)
        proxies.append(Proxy(name, base, listed_only, token_scopes))
        ops = item.get("operations") or []
        if not isinstance(ops, list):
            raise ProductsError(f"proxy {name!r}: operations must be a list")
        for op in ops:
            if not isinstance(op, dict):
                raise ProductsError(f"proxy {name!r}: each operation must be an object")
            where = f"proxy {name!r}"
            drafts.append(
                OperationDraft(
                    proxy=name,
                    method=_method(op.get("method"), where),
                    template=normalize_template(str(op.get("path", "/")), where),
                    source="inline",
                    explicit_id=op.get("operationId") or None,
                    summary=str(op.get("summary") or ""),
                )
            )
    _unique(proxies)
    return proxies, drafts


def _unique(proxies: list[Proxy]) -> None:
    names: set[str] = set()
    paths: set[str] = set()
    for proxy in proxies:
        if proxy.name in names:
            raise ProductsError(f"proxy {proxy.name!r} is listed twice")
        if proxy.base_path in paths:
            raise ProductsError(f"base path {proxy.base_path!r} is listed for two proxies")
        names.add(proxy.name)
        paths.add(proxy.base_path)


def proxy_for_path(proxies: Iterable[Proxy], path: str) -> tuple[Proxy, str] | None:
    """The proxy whose base path is the longest segment-wise prefix, and the suffix."""
    best: tuple[Proxy, str] | None = None
    for proxy in proxies:
        base = proxy.base_path
        if base == "/":
            hit, suffix = True, path if path != "/" else ""
        else:
            hit = path == base or path.startswith(base + "/")
            suffix = path[len(base) :]
        if hit and (best is None or len(base) > len(best[0].base_path)):
            best = (proxy, suffix)
    return best


def load_json(path: str | Path, what: str) -> Any:
    """Read a JSON file; any failure is one readable ProductsError."""
    file = Path(path)
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProductsError(f"{what} {file}: no such file") from None
    except IsADirectoryError:
        raise ProductsError(f"{what} {file}: is a directory") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProductsError(f"{what} {file}: not valid JSON ({exc})") from None


def _server_path(doc: Mapping[str, Any]) -> str:
    servers = doc.get("servers")
    if isinstance(servers, list) and servers and isinstance(servers[0], dict):
        return urlsplit(str(servers[0].get("url", ""))).path.rstrip("/")
    return str(doc.get("basePath") or "").rstrip("/")


def openapi_drafts(
    doc: Any, proxies: list[Proxy], *, proxy: str | None = None
) -> list[OperationDraft]:
    """Operations of one OpenAPI/Swagger document, assigned to catalog proxies.

    With ``proxy`` given, paths are read relative to that proxy's base path.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        raise ProductsError('OpenAPI document has no "paths" object')
    by_name = {p.name: p for p in proxies}
    if proxy is not None and proxy not in by_name:
        raise ProductsError(f"OpenAPI document: proxy {proxy!r} is not in the catalog")
    prefix = "" if proxy else _server_path(doc)
    drafts: list[OperationDraft] = []
    for raw_path, item in doc["paths"].items():
        if not isinstance(item, dict):
            continue
        if proxy is not None:
            owner, template = by_name[proxy], raw_path
        else:
            found = proxy_for_path(proxies, (prefix + "/" + raw_path.lstrip("/")).rstrip("/"))
            if found is None:
                raise ProductsError(f"OpenAPI path {prefix}{raw_path} is under no known base path")
            owner, template = found
        where = f"OpenAPI path {raw_path!r}"
        for key, op in item.items():
            if key.upper() not in HTTP_METHODS or not isinstance(op, dict):
                continue
            drafts.append(
                OperationDraft(
                    proxy=owner.name,
                    method=key.upper(),
                    template=normalize_template(template, where),
                    source="openapi",
                    explicit_id=op.get("operationId") or None,
                    summary=str(op.get("summary") or ""),
                )
            )
    return drafts


def _looks_like_value(segment: str) -> bool:
    return any(c.isdigit() for c in segment) or bool(_UUID.match(segment))


def templatize(suffix: str) -> str:
    """A concrete path suffix -> template: value-like segments become ``{id}``."""
    parts = [p for p in suffix.split("/") if p]
    if not parts:
        return "/"
    return "/" + "/".join("{id}" if _looks_like_value(p) else p for p in parts)


def discovered_drafts(
    records: Iterable[Mapping[str, Any]], proxies: list[Proxy]
) -> list[OperationDraft]:
    """Operations seen in log records (canonical columns, or Apigee analytics names)."""
    by_name = {p.name: p for p in proxies}
    seen: set[tuple[str, str, str]] = set()
    drafts: list[OperationDraft] = []
    for record in records:
        method = str(record.get("verb") or record.get("request_verb") or "").upper()
        if method not in HTTP_METHODS:
            continue
        name = record.get("proxy") or record.get("apiproxy")
        suffix = record.get("pathsuffix", record.get("proxy_pathsuffix"))
        if name in by_name and isinstance(suffix, str):
            owner = by_name[name]
        else:
            path = str(record.get("path") or record.get("request_path") or "")
            found = proxy_for_path(proxies, path)
            if found is None:
                continue  # traffic to proxies outside the catalog is not callable
            owner, suffix = found
        try:
            template = normalize_template(templatize(suffix), "logs")
        except ProductsError:
            continue  # a hostile or odd path in the logs is evidence, not an operation
        key = (owner.name, method, template)
        if key not in seen:
            seen.add(key)
            drafts.append(OperationDraft(owner.name, method, template, "logs"))
    return drafts


def bundle_token_scopes(apiproxy: str | Path) -> list[str]:
    """The ``<Scope>`` lists of OAuthV2 VerifyAccessToken policies an apiproxy bundle runs
    unconditionally in a ProxyEndpoint PreFlow (for ``verifyAccessTokenScopes``).

    Public API (docs/apigee.md): how a team fills ``verifyAccessTokenScopes``
    from the bundles it deploys; no command calls it.
    """
    root = Path(apiproxy)
    found = []
    for endpoint in sorted((root / "proxies").glob("*.xml")):
        request = ET.parse(endpoint).getroot().find("PreFlow/Request")
        for step in request.iter("Step") if request is not None else []:
            name = (step.findtext("Name") or "").strip()
            policy = root / "policies" / f"{name}.xml"
            if step.find("Condition") is not None or not name or not policy.is_file():
                continue
            xml = ET.parse(policy).getroot()
            operation = (xml.findtext("Operation") or "").strip()
            scope = (xml.findtext("Scope") or "").strip()
            if xml.tag == "OAuthV2" and operation == "VerifyAccessToken" and scope:
                found.append(" ".join(scope.split()))
    return found
