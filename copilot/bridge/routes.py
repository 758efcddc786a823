"""Claims -> route, and request targets -> operations, both refusing by default.

A route's ``match`` holds when every listed claim holds: ``scope``, ``scp`` and
``groups`` are sets (``scope`` a space-separated string per RFC 8693 section 4.2,
``scp`` an array as Microsoft Entra and Okta issue it; either spelling matches
``scope``/``scp`` in a route), so the wanted values must all be contained;
``client_id`` also reads ``azp`` (OpenID Connect's authorized party); any other
claim must be equal. The first route that holds wins.

The target grammar is closed: four shapes under ``/v1/workflows`` plus
``/healthz``. Anything a server or proxy could read two ways (dot segments,
percent-encoding, doubled or trailing slashes, backslashes, a query) is refused
before a token is even looked at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from copilot.bridge.config import Route

_SET_CLAIMS = {"scope", "scp", "groups"}
_PLAIN_PATH = re.compile(r"[\x21-\x24\x26-\x5b\x5d-\x7e]*")  # printable ASCII but % and \\
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@~-]{0,199}$")


@dataclass(frozen=True)
class Caller:
    """Who is calling, from verified claims only (never from bare headers)."""

    subject: str
    issuer: str
    client_id: str
    scopes: tuple[str, ...]
    groups: tuple[str, ...]

    @property
    def key(self) -> str:
        """One string per caller (idempotency keys are scoped to it)."""
        return f"{self.issuer}\x1f{self.subject}\x1f{self.client_id}"


def _as_set(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(value.split())
    if isinstance(value, list):
        return {v for v in value if isinstance(v, str)}
    return set()


def scopes_of(claims: dict[str, Any]) -> tuple[str, ...]:
    """The union of ``scope`` (space-separated) and ``scp`` (array or string)."""
    return tuple(sorted(_as_set(claims.get("scope")) | _as_set(claims.get("scp"))))


def caller_of(claims: dict[str, Any]) -> Caller:
    """The caller's identity from verified claims."""
    client = claims.get("client_id") or claims.get("azp") or ""
    return Caller(
        subject=str(claims.get("sub", "")),
        issuer=str(claims.get("iss", "")),
        client_id=str(client) if isinstance(client, str) else "",
        scopes=scopes_of(claims),
        groups=tuple(sorted(_as_set(claims.get("groups")))),
    )


def _holds(claims: dict[str, Any], claim: str, wanted: str | tuple[str, ...]) -> bool:
    values = (wanted,) if isinstance(wanted, str) else wanted
    if claim in ("scope", "scp"):
        return set(values) <= set(scopes_of(claims))
    if claim in _SET_CLAIMS:
        return set(values) <= _as_set(claims.get(claim))
    actual = claims.get(claim)
    if claim == "client_id" and actual is None:
        actual = claims.get("azp")
    if isinstance(actual, bool) or actual is None:
        return False
    return len(values) == 1 and str(actual) == values[0]


def match_route(routes: tuple[Route, ...], claims: dict[str, Any]) -> Route | None:
    """The first route whose every match clause holds for these claims, or None."""
    for route in routes:
        if all(_holds(claims, c, w) for c, w in route.match.items()):
            return route
    return None


@dataclass(frozen=True)
class Target:
    """What a request asks for: ``kind`` is start, signal, update, status or health."""

    kind: str
    workflow: str = ""  # the type for a start, the workflow id otherwise
    name: str = ""  # the signal or update name


class BadTarget(ValueError):
    """A request target outside the grammar (the reason is safe to show)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


def parse_target(method: str, raw_path: str, query: str = "") -> Target:
    """The operation a raw request target names; BadTarget otherwise (nothing decoded)."""
    if query:
        raise BadTarget("the bridge takes no query parameters")
    if not _PLAIN_PATH.fullmatch(raw_path):
        raise BadTarget("percent-encoding, backslashes and non-ASCII are refused in the path")
    if "//" in raw_path or not raw_path.startswith("/") or raw_path.endswith("/"):
        raise BadTarget("empty path segments (doubled or trailing slashes) are refused")
    parts = raw_path[1:].split("/")
    if any(p in (".", "..") for p in parts):
        raise BadTarget("dot segments are refused")
    if parts == ["healthz"]:
        return _method(method, "GET", Target("health"))
    if len(parts) < 3 or parts[:2] != ["v1", "workflows"]:
        raise BadTarget("not found: the bridge serves /v1/workflows/... and /healthz", 404)
    for part in parts[2:]:
        if not _SEGMENT.match(part):
            raise BadTarget(f"path segment {part[:40]!r} is not a name ([A-Za-z0-9._:@~-])")
    rest = parts[2:]
    if len(rest) == 1:
        if method == "POST":
            return Target("start", rest[0])
        return _method(method, "GET", Target("status", rest[0]))
    if len(rest) == 3 and rest[1] in ("signals", "updates"):
        kind = "signal" if rest[1] == "signals" else "update"
        return _method(method, "POST", Target(kind, rest[0], rest[2]))
    raise BadTarget("not found: the bridge serves /v1/workflows/... and /healthz", 404)


def _method(method: str, allowed: str, target: Target) -> Target:
    if method != allowed:
        raise BadTarget(f"{method} is not allowed here; use {allowed}", 405)
    return target


def refusal(route: Route, target: Target, workflow_type: str | None = None) -> str | None:
    """Why this route may not do this (None when it may)."""
    if target.kind == "start" and target.workflow not in route.workflows:
        return f"workflow type {target.workflow!r} is not granted to this caller"
    if workflow_type is not None and workflow_type not in route.workflows:
        return "the workflow is not of a type granted to this caller"
    if target.kind == "signal" and target.name not in route.signals:
        return f"signal {target.name!r} is not granted to this caller"
    if target.kind == "update" and target.name not in route.updates:
        return f"update {target.name!r} is not granted to this caller"
    return None
