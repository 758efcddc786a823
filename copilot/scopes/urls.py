"""Refuse ambiguous request targets before any scope matching happens.

A scope check is only as good as the agreement between the checker, the
gateway and the backend about which resource a URL names. Every trick below
makes two of them disagree (one decodes, normalises or splits where another
does not), so atc decides on one normalised path and refuses anything that
could be read another way. Each refusal raises :class:`ScopeDenied` with a
reason a human can read.

Refused: dot segments (raw, percent-encoded, double-encoded, overlong UTF-8),
empty segments (``//``), backslashes, ``;`` path parameters, NUL and control
bytes, raw non-ASCII and Unicode that NFKC-normalises to something else,
percent-encoded unreserved characters, encoded ``/`` and ``%``, a trailing
slash, fragments, scheme-relative and absolute URLs to another origin,
userinfo or a malformed host or port in the authority, and query parameters
that carry a path, a URL or a method override (in any spelling). A legitimate
value that happens to need ``%25`` or a leading ``/`` in a query is refused
too: that is the price of no ambiguity, and operations can take such data in a
body instead. Headers are checked by :mod:`copilot.scopes.headers`
(``check_headers`` is re-exported here).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote_plus

from copilot.errors import ScopeDenied
from copilot.scopes.headers import check_headers, header_key
from copilot.scopes.url_parts import UrlParts, split_url

__all__ = ["METHODS", "Target", "check_headers", "check_method", "check_query", "parse_target"]

MAX_URL = 8192
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
_BAD_PCT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST = re.compile(r"[a-z0-9._~-]+")
_PORT = re.compile(r"[0-9]{1,5}")
_UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PCHAR_RAW = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@%")
_DOT_SEGMENT = re.compile(r"(^|[/\\])\.{1,2}([/\\]|$)")
_OVERRIDE_PARAMS = {  # compared after _param_key: "_method", "X_HTTP_Method" match too
    "method",
    "httpmethod",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
}


@dataclass(frozen=True)
class Target:
    """A request target that passed every check: one path, one query."""

    path: str  # as sent: percent-encoded, normalised, no trailing slash
    query: str  # raw query string without "?", "" when none


def _deny(reason: str) -> ScopeDenied:
    return ScopeDenied(reason)


def check_method(method: str) -> str:
    """The method, if it is one atc lets through (upper-case, standard, not CONNECT/TRACE)."""
    if not isinstance(method, str) or not method:
        raise _deny("no HTTP method given")
    if method != method.strip() or any(ord(c) < 0x21 or ord(c) > 0x7E for c in method):
        raise _deny(f"HTTP method {method!r} contains whitespace or control characters")
    if method.upper() in METHODS and method != method.upper():
        raise _deny(
            f"HTTP method {method!r} is not upper-case; methods are case-sensitive, "
            f"so {method!r} and {method.upper()!r} may be treated differently"
        )
    if method not in METHODS:
        raise _deny(f"HTTP method {method!r} is not allowed (allowed: {', '.join(METHODS)})")
    return method


def _check_raw_chars(url: str) -> None:
    for i, char in enumerate(url):
        code = ord(char)
        if code == 0:
            raise _deny(f"NUL byte at position {i} of the URL")
        if char in "\r\n":
            raise _deny(f"line break at position {i} of the URL (request splitting)")
        if code < 0x20 or code == 0x7F:
            raise _deny(f"control character {code:#04x} at position {i} of the URL")
        if char == " ":
            raise _deny(f"raw space at position {i} of the URL; percent-encode it as %20")
        if code > 0x7E:
            raise _deny(
                f"raw non-ASCII character {char!r} in the URL; Unicode may be normalised "
                f"differently by each hop, so percent-encode it"
            )
    if "\\" in url:
        raise _deny("backslash in the URL; some servers read it as '/', others do not")
    if "#" in url:
        raise _deny("fragment (#) in the URL; it is never sent, so the server sees another URL")


def _split_origin(url: str, gateway: str | None) -> str:
    """Return the path-and-query of ``url``; refuse other origins.

    The URL is split where RFC 3986 and httpx split it (see
    :mod:`copilot.scopes.url_parts`), so the path checked here is the path sent.
    """
    if url.startswith("//"):
        raise _deny(f"scheme-relative URL {url[:60]!r} names a host; give a path on the gateway")
    parts = split_url(url)
    if not parts.scheme:
        if not url.startswith("/"):
            raise _deny(f"URL {url[:60]!r} does not start with '/' and is not absolute")
        return url
    if parts.scheme not in ("http", "https"):
        raise _deny(f"scheme {parts.scheme!r} is not allowed; only http(s) to the gateway")
    if parts.authority is None:
        raise _deny(f"malformed absolute URL {url[:60]!r} (no '//' after the scheme)")
    origin = _origin(parts)
    if gateway is None:
        raise _deny(
            f"absolute URL to {origin}: atc checks calls to the gateway only; "
            f"give the path, or name the gateway origin"
        )
    expected = _origin_of(gateway)
    if origin != expected:
        raise _deny(f"URL goes to {origin}, not to the gateway {expected}")
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _origin(parts: UrlParts) -> str:
    """``scheme://host:port`` with the default port spelled out; refuse any
    authority two parsers could read differently."""
    if parts.userinfo is not None:
        raise _deny(
            f"userinfo in the authority {parts.authority!r}: 'user@host' hides the real host; "
            f"refused"
        )
    if not parts.host:
        raise _deny(f"the absolute URL names no host (authority {parts.authority!r})")
    if parts.ipv6:
        try:
            host = f"[{ipaddress.IPv6Address(parts.host).compressed}]"
        except ValueError:
            raise _deny(f"IPv6 literal [{parts.host}] in the URL is not an address") from None
    elif _HOST.fullmatch(parts.host):
        host = parts.host
    else:
        raise _deny(
            f"host {parts.host!r} in the URL holds characters a host name cannot "
            f"(only letters, digits, '.', '-', '_' and '~', or an IPv6 literal in brackets)"
        )
    default = 443 if parts.scheme == "https" else 80
    if parts.port and not _PORT.fullmatch(parts.port):
        raise _deny(f"port {parts.port!r} in the URL is not a number")
    port = int(parts.port) if parts.port else default
    if not 0 < port < 65536:
        raise _deny(f"port {port} in the URL is out of range (1-65535)")
    return f"{parts.scheme}://{host}:{port}"


def _origin_of(gateway: str) -> str:
    parts = split_url(gateway)
    if parts.scheme not in ("http", "https") or parts.authority is None:
        raise _deny(f"gateway origin {gateway!r} is not an absolute http(s) URL")
    return _origin(parts)


def _check_encoded(path: str) -> None:
    if _BAD_PCT.search(path):
        raise _deny("malformed percent-encoding in the path ('%' not followed by two hex digits)")
    pending = bytearray()
    for match in _PCT.finditer(path):
        byte = int(match.group(1), 16)
        shown = match.group(0)
        if byte == ord("."):
            raise _deny(f"percent-encoded dot ({shown}) in the path: a hidden '.' or '..' segment")
        if byte == ord("/"):
            raise _deny(f"encoded slash ({shown}): a separator to some servers, data to others")
        if byte == ord("\\"):
            raise _deny(f"encoded backslash ({shown}): some servers read it as '/'")
        if byte == ord("%"):
            raise _deny(f"encoded '%' ({shown}): double percent-encoding, decoded twice it changes")
        if byte == ord(";"):
            raise _deny(f"encoded semicolon ({shown}): a path parameter to some servers")
        if byte < 0x20 or byte == 0x7F:
            raise _deny(f"encoded control byte ({shown}) in the path")
        if byte in _UNRESERVED:
            raise _deny(
                f"percent-encoded unreserved character ({shown} = {chr(byte)!r}); "
                f"encoded and plain forms must not both name the resource"
            )
        if byte >= 0x80:
            pending.append(byte)
    if pending:
        _check_utf8(path)


def _check_utf8(path: str) -> None:
    for segment in path.split("/"):
        raw = bytes(int(h, 16) for h in _PCT.findall(segment) if int(h, 16) >= 0x80)
        if not raw:
            continue
        try:
            decoded = unquote_to_str(segment)
        except UnicodeDecodeError:
            raise _deny(
                "invalid UTF-8 in the percent-encoded path (overlong forms can hide '.' or '/')"
            ) from None
        if unicodedata.normalize("NFKC", decoded) != decoded:
            raise _deny(
                f"segment {decoded!r} changes under Unicode normalisation (NFKC); "
                f"a backend could read it as {unicodedata.normalize('NFKC', decoded)!r}"
            )


def unquote_to_str(segment: str) -> str:
    """Percent-decode strictly as UTF-8 (raises UnicodeDecodeError)."""
    raw = bytearray()
    i = 0
    while i < len(segment):
        if segment[i] == "%":
            raw.append(int(segment[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.extend(segment[i].encode("ascii"))
            i += 1
    return bytes(raw).decode("utf-8", errors="strict")


def _check_path(path: str) -> None:
    if ";" in path:
        raise _deny("';' in the path: a path parameter that servers strip or keep differently")
    for char in path:
        if char not in _PCHAR_RAW and char != "/":
            raise _deny(f"character {char!r} is not allowed raw in a URL path")
    _check_encoded(path)
    if path == "/":
        return
    segments = path[1:].split("/")
    for position, segment in enumerate(segments):
        if segment in (".", ".."):
            raise _deny(f"dot segment {segment!r} in the path; it would climb out of the resource")
        if segment == "" and position == len(segments) - 1:
            raise _deny(
                "trailing slash: Apigee and backends may treat it as another resource; "
                "call the path without it"
            )
        if segment == "":
            raise _deny("empty path segment (//): servers collapse it differently")


def _param_key(name: str) -> str:
    return header_key(name).strip("-")


def check_query(query: str) -> None:
    """Refuse query strings that smuggle a path, a URL or a method override."""
    if not query:
        return
    if _BAD_PCT.search(query):
        raise _deny("malformed percent-encoding in the query string")
    if ";" in query:
        raise _deny("';' in the query string: some servers split parameters on it")
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        key, text = unquote_plus(name), unquote_plus(value)
        if _param_key(key) in _OVERRIDE_PARAMS:
            raise _deny(f"query parameter {key!r} overrides the HTTP method; refused")
        for label, item in (("name", key), ("value", text)):
            if any(ord(c) < 0x20 or ord(c) == 0x7F for c in item):
                raise _deny(f"query parameter {key!r} {label} contains control characters")
            if _PCT.search(item):
                raise _deny(f"query parameter {key!r} is double percent-encoded")
            if item.startswith(("/", "\\")) or "://" in item or _DOT_SEGMENT.search(item):
                raise _deny(
                    f"query parameter {key!r} carries a path or URL ({item[:40]!r}); "
                    f"it could be forwarded as one"
                )


def parse_target(url: str, *, gateway: str | None = None) -> Target:
    """Validate a request URL (a path, or an absolute URL to ``gateway``).

    Returns the single path and query atc will match; raises ScopeDenied with
    the reason otherwise.
    """
    if not isinstance(url, str) or not url:
        raise _deny("no URL given")
    if len(url) > MAX_URL:
        raise _deny(f"URL is {len(url)} characters long; the limit is {MAX_URL}")
    if url != url.strip():
        raise _deny("leading or trailing whitespace around the URL")
    _check_raw_chars(url)
    path_and_query = _split_origin(url, gateway)
    path, _, query = path_and_query.partition("?")
    _check_path(path)
    check_query(query)
    return Target(path=path, query=query)
