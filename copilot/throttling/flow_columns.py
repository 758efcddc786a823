"""The flow variables a condition reads, as columns of the logged requests.

Apigee's condition variables map to what atc logs (copilot/logs/schema.py):
``request.verb``, ``request.path`` and ``request.uri`` (the query string is not
logged), ``proxy.pathsuffix`` (logged, or the path minus the bundle's base
path), ``proxy.basepath``, ``client.ip``/``proxy.client.ip``,
``apiproduct.name``, ``client_id``, ``developer.app.name``, ``apiproxy.name``
and ``response.status.code``. Empty and ``(not set)`` values are null, as the
variable is unset at runtime. Anything else is unavailable: a condition that
needs it is unknown on those rows (copilot.apigee.conditions).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import numpy as np
import pandas as pd

from copilot.logs.schema import NOT_SET
from copilot.throttling.bundle import CurrentPolicy
from copilot.throttling.collect import ATTRS
from copilot.throttling.context import Context

_FIELDS = {  # flow variable (lower case) -> what atc reads it from
    "request.verb": "verb",
    "request.path": "path",
    "request.uri": "path",  # the query string is not logged
    "proxy.pathsuffix": "pathsuffix",
    "proxy.basepath": "basepath",
    "client.ip": "client_ip",
    "proxy.client.ip": "client_ip",
    "apiproduct.name": "api_product",
    "client_id": "client_id",
    "developer.app.name": "app",
    "app.name": "app",
    "apiproxy.name": "proxy",
    "response.status.code": "status",
    "message.status.code": "status",
}


class FlowColumns(Mapping):
    """Flow variable -> values over ``rows`` (null where Apigee's variable would be null),
    each built on first use; a variable the logs do not carry is absent (unavailable)."""

    def __init__(self, ctx: Context, proxy: int, rows: np.ndarray, base_paths=()) -> None:
        self.ctx, self.proxy, self.rows, self.base_paths = ctx, proxy, rows, tuple(base_paths)
        self._built: dict[str, pd.Series] = {}

    def __contains__(self, var: object) -> bool:
        name = _FIELDS.get(str(var))
        return name is not None and available(self.ctx, name, self.base_paths)

    def __getitem__(self, var: str) -> pd.Series:
        if var not in self:
            raise KeyError(var)
        if var not in self._built:
            self._built[var] = column(
                self.ctx, _FIELDS[var], self.proxy, self.rows, self.base_paths
            )
        return self._built[var]

    def __iter__(self) -> Iterator[str]:
        return iter([v for v in _FIELDS if v in self])

    def __len__(self) -> int:
        return len(list(iter(self)))


class WithParams(Mapping):
    """``columns`` plus the flow variables a FlowCallout call site sets (lower-case names):
    a literal is the same on every row; ``{x}`` reads ``x``'s column when the logs carry it,
    and is unavailable otherwise (cloud.google.com/apigee/docs/api-platform/reference/
    policies/flow-callout-policy)."""

    def __init__(self, columns: Mapping, params: Iterable[tuple[str, str]], n: int) -> None:
        from copilot.throttling.bundle_params import ref_of

        self.columns, self.n = columns, n
        self.literal: dict[str, str] = {}
        self.alias: dict[str, str] = {}  # variable -> the logged variable it is set from
        for name, value in params:
            ref = ref_of(value)
            if ref is None and "{" not in value:
                self.literal[name.lower()] = value
            elif ref is not None and ref.lower() in columns:
                self.alias[name.lower()] = ref.lower()

    def __contains__(self, var: object) -> bool:
        return var in self.literal or var in self.alias or var in self.columns

    def __getitem__(self, var: str) -> pd.Series:
        if var in self.literal:
            return pd.Series(np.full(self.n, self.literal[var], dtype=object))
        return self.columns[self.alias.get(var, var)]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self.columns, *self.literal, *self.alias]))

    def __len__(self) -> int:
        return len(list(iter(self)))


def flow_columns(ctx: Context, proxy: int, rows: np.ndarray, base_paths=()) -> FlowColumns:
    """The flow variables the logs carry over ``rows`` (see :class:`FlowColumns`)."""
    return FlowColumns(ctx, proxy, rows, base_paths)


def _cache(ctx: Context) -> dict:
    return ctx.req._orders  # the requests' own cache of derived arrays


def _labels(ctx: Context, name: str) -> tuple[np.ndarray, list] | None:
    """(id per row, label per id) of a logged column, or None."""
    req = ctx.req
    if name in ("app", "client_id"):
        i = 0 if name == "app" else 1
        return req.party, [p[i] for p in req.parties]
    return req.attrs.get(name)


def available(ctx: Context, name: str, base_paths: tuple[str, ...]) -> bool:
    if name == "proxy":
        return True
    if name == "pathsuffix" and not available(ctx, "pathsuffix_logged", ()):
        return bool(base_paths) and "path" in ctx.req.attrs
    key = ("available", name)
    if key not in _cache(ctx):
        if name == "status":
            found = ctx.req.status_logged()
        else:
            got = _labels(ctx, "pathsuffix" if name == "pathsuffix_logged" else name)
            found = got is not None and any(v and v != NOT_SET for v in got[1])
        _cache(ctx)[key] = found
    return _cache(ctx)[key]


def column(ctx: Context, name: str, proxy: int, rows: np.ndarray, base_paths) -> pd.Series:
    req = ctx.req
    if name == "proxy":
        return pd.Series(np.full(rows.size, req.proxies[proxy], dtype=object))
    if name == "status":
        status = req.status[rows].astype(float)
        return pd.Series(np.where(status > 0, status, np.nan))  # 0: not logged
    if name == "pathsuffix" and not available(ctx, "pathsuffix_logged", ()):
        return _suffix(ctx, rows, base_paths)
    ids, labels = _labels(ctx, name)
    key = ("categories", name)
    if key not in _cache(ctx):
        _cache(ctx)[key] = _lookup(labels)
    codes, cats = _cache(ctx)[key]
    return pd.Series(pd.Categorical.from_codes(codes[ids[rows]], cats))


def _lookup(labels: list) -> tuple[np.ndarray, list[str]]:
    """Label id -> category code, and the categories; empty and (not set) are null (-1),
    as Apigee's variable is unset then."""
    cats: dict[str, int] = {}
    codes = np.full(len(labels) + 1, -1, dtype=np.int64)
    for i, v in enumerate(labels):
        if v is not None and v != "" and v != NOT_SET:
            codes[i] = cats.setdefault(v, len(cats))
    return codes, list(cats)


def _suffix(ctx: Context, rows: np.ndarray, base_paths) -> pd.Series:
    """proxy.pathsuffix as the path minus the longest base path it starts with."""
    ids, labels = ctx.req.attrs["path"]
    key = ("suffix", tuple(base_paths))
    if key not in _cache(ctx):
        bases = sorted((b.rstrip("/") for b in base_paths), key=len, reverse=True)

        def cut(path: str) -> str | None:
            for b in bases:
                if path == b or path.startswith(b + "/"):
                    return path[len(b) :]
            return None

        _cache(ctx)[key] = np.array([cut(v) for v in labels], dtype=object)
    return pd.Series(_cache(ctx)[key][ids[rows]])


def needed_attrs(policies: Iterable[CurrentPolicy]) -> tuple[str, ...]:
    """The collector columns (collect.ATTRS) the policies' conditions and identities read."""
    from copilot.apigee.conditions import parse_condition

    names = set()
    for p in policies:
        names.add({"client_ip": "client_ip", "product": "api_product"}.get(p.identifier_kind))
        for text in {a.condition for a in p.attachments}:
            for var in parse_condition(text).variables if text else ():
                name = _FIELDS.get(var.lower())
                if name == "pathsuffix":
                    names.add("path")  # derived from the path when not logged
                names.add(name)
    return tuple(a for a in ATTRS if a in names)
