"""The dry run's mock backend: an echo that answers each operation as the scenario says.

Every proxy of the catalog is routed to ``<backend>/<proxy>``, so a request
names its proxy and the operation is found from the method and the path
suffix. The current scenario's ``responses`` map operation ids to body
fields (dotted paths) and their values; the answer is the echo of the
request with those fields set. That is how the dry run drives both sides
of a branch on a response field, and ends a poll whose exit condition
reads one (a field given ``None`` is left out of the answer).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from copilot.scopes.catalog import Catalog
from copilot.scopes.server import ALL_METHODS, _echo


def with_fields(body: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """``body`` with each dotted path of ``fields`` set (``None``: removed)."""
    out = dict(body)
    for path, value in sorted(fields.items()):
        keys = path.split(".")
        node = out
        for key in keys[:-1]:
            child = node.get(key)
            node[key] = dict(child) if isinstance(child, dict) else {}
            node = node[key]
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    return out


class ScriptedBackend:
    """A Starlette app plus the scenario's answers (set before each scenario runs)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.responses: dict[str, dict[str, Any]] = {}
        self.app = Starlette(routes=[Route("/{path:path}", self._answer, methods=ALL_METHODS)])

    def routes(self, base_url: str) -> dict[str, str]:
        """The gateway's backends: each proxy to its own prefix of this backend."""
        return {p.name: f"{base_url.rstrip('/')}/{p.name}" for p in self.catalog.proxies}

    def _operation(self, method: str, path: str) -> str | None:
        proxy, _, suffix = path.lstrip("/").partition("/")
        op = self.catalog.find_operation(proxy, method, "/" + suffix)
        return op.id if op else None

    async def _answer(self, request: Request) -> JSONResponse:
        echoed = await _echo(request)
        op = self._operation(request.method, request.url.path)
        fields = self.responses.get(op or "", {})
        if not fields:
            return echoed
        body = with_fields(json.loads(bytes(echoed.body)), fields)
        return JSONResponse(body, status_code=echoed.status_code)
