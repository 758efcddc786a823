"""Split a URL into its RFC 3986 components, exactly where httpx splits it.

The scope checker and the HTTP client must agree on which part of a URL is the
host, which the path and which the query: ``http://gw.example?/v1/orders/42``
is the empty path with the query ``/v1/orders/42`` to both RFC 3986 and httpx,
so a checker that read ``/v1/orders/42`` as the path would check one request
and let another be sent. The authority ends at the first ``/``, ``?`` or
``#``; the query at the first ``#``; userinfo ends at the *last* ``@`` of the
authority; an IPv6 literal sits in brackets, and the port follows the first
``:`` after the host. This module only splits: deciding what is acceptable is
:mod:`copilot.scopes.urls`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RFC3986 = re.compile(
    r"^(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*):)?"
    r"(?://(?P<authority>[^/?#]*))?"
    r"(?P<path>[^?#]*)"
    r"(?:\?(?P<query>[^#]*))?"
    r"(?:#(?P<fragment>.*))?$",
    re.DOTALL,
)


@dataclass(frozen=True)
class UrlParts:
    """The components of a URL; ``None`` means the component is absent, ``""`` empty."""

    scheme: str  # lower-case; "" for a relative reference
    authority: str | None  # raw, as written between "//" and the path
    userinfo: str | None
    host: str  # lower-case, IPv6 literals without their brackets
    port: str | None  # raw text after the host's ":" (not yet a number)
    path: str
    query: str | None
    fragment: str | None
    ipv6: bool = False


def split_authority(authority: str) -> tuple[str | None, str, str | None, bool]:
    """``(userinfo, host, port, ipv6)`` of an authority; a malformed IPv6 literal
    keeps its text in ``host`` and is left for the checker to refuse."""
    userinfo, at, hostport = authority.rpartition("@")
    info = userinfo if at else None
    if hostport.startswith("["):
        end = hostport.find("]")
        if end > 0:
            host, rest = hostport[1:end], hostport[end + 1 :]
            port = rest[1:] if rest.startswith(":") else (rest or None)
            if rest and not rest.startswith(":"):
                return info, hostport.lower(), None, False
            return info, host.lower(), port, True
        return info, hostport.lower(), None, False
    host, colon, port = hostport.partition(":")
    return info, host.lower(), port if colon else None, False


def split_url(url: str) -> UrlParts:
    """The RFC 3986 components of ``url`` (never raises: every string splits)."""
    match = _RFC3986.match(url)
    assert match is not None  # every group is optional, so any string matches
    scheme = (match.group("scheme") or "").lower()
    authority = match.group("authority")
    userinfo, host, port, ipv6 = split_authority(authority) if authority is not None else (
        None, "", None, False,
    )  # fmt: skip
    return UrlParts(
        scheme=scheme,
        authority=authority,
        userinfo=userinfo,
        host=host,
        port=port,
        path=match.group("path"),
        query=match.group("query"),
        fragment=match.group("fragment"),
        ipv6=ipv6,
    )
