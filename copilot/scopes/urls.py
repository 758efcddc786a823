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
userinfo in the authority, method-override and URL-override headers, a
caller-supplied ``Authorization`` or ``Host``, and query parameters that carry
a path, a URL or a method override. A legitimate value that happens to need
``%25`` or a leading ``/`` in a query is refused too: that is the price of no
ambiguity, and operations can take such data in a body instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

from copilot.errors import ScopeDenied

MAX_URL = 8192
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
_BAD_PCT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PCHAR_RAW = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@%")
_DOT_SEGMENT = re.compile(r"(^|[/\\])\.{1,2}([/\\]|$)")
_OVERRIDE_PARAMS = {
    "_method",
    "method",
    "_httpmethod",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
}
_REFUSED_HEADERS = {
    "x-http-method-override": "overrides the HTTP method behind the gateway's back",
    "x-http-method": "overrides the HTTP method behind the gateway's back",
    "x-method-override": "overrides the HTTP method behind the gateway's back",
    "x-original-method": "overrides the HTTP method behind the gateway's back",
    "x-original-url": "rewrites the URL after the gateway checked it",
    "x-rewrite-url": "rewrites the URL after the gateway checked it",
    "x-override-url": "rewrites the URL after the gateway checked it",
    "x-forwarded-prefix": "changes the path a backend believes it serves",
    "x-forwarded-path": "changes the path a backend believes it serves",
    "x-forwarded-uri": "changes the path a backend believes it serves",
    "x-envoy-original-path": "changes the path a backend believes it serves",
    "authorization": "is attached by the gateway client (the scoped token) and may not be set",
    "host": "is derived from the URL; a different one could route the call elsewhere",
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


def check_headers(headers: Mapping[str, str] | None) -> None:
    """Refuse override headers, caller-set credentials and header injection."""
    for name, value in (headers or {}).items():
        lower = str(name).strip().lower()
        if lower in _REFUSED_HEADERS:
            raise _deny(f"header {name!r} {_REFUSED_HEADERS[lower]}")
        text = f"{name}{value}"
        if any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F for c in text):
            raise _deny(f"header {name!r} contains control characters (header injection)")


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
    """Return the path-and-query of ``url``; refuse other origins."""
    if url.startswith("//"):
        raise _deny(f"scheme-relative URL {url[:60]!r} names a host; give a path on the gateway")
    match = _SCHEME.match(url)
    if not match:
        if not url.startswith("/"):
            raise _deny(f"URL {url[:60]!r} does not start with '/' and is not absolute")
        return url
    scheme = match.group(1).lower()
    if scheme not in ("http", "https"):
        raise _deny(f"scheme {scheme!r} is not allowed; only http(s) to the gateway")
    rest = url[match.end() :]
    if not rest.startswith("//"):
        raise _deny(f"malformed absolute URL {url[:60]!r} (no '//' after the scheme)")
    authority, slash, tail = rest[2:].partition("/")
    authority, _, query_only = authority.partition("?")
    if "@" in authority:
        raise _deny(
            f"userinfo in the authority {authority!r}: 'user@host' hides the real host; refused"
        )
    origin = f"{scheme}://{_normal_authority(scheme, authority)}"
    if gateway is None:
        raise _deny(
            f"absolute URL to {origin}: atc checks calls to the gateway only; "
            f"give the path, or name the gateway origin"
        )
    expected = _origin_of(gateway)
    if origin != expected:
        raise _deny(f"URL goes to {origin}, not to the gateway {expected}")
    if query_only and not slash:
        return "/?" + query_only
    return "/" + tail if slash else "/"


def _normal_authority(scheme: str, authority: str) -> str:
    host, _, port = authority.rpartition(":") if ":" in authority else (authority, "", "")
    if not host or "[" in authority:
        host, port = authority, ""
    default = "443" if scheme == "https" else "80"
    if port and not port.isdigit():
        raise _deny(f"port {port!r} in the URL is not a number")
    port = str(int(port)) if port else default
    return f"{host.lower()}:{port}"


def _origin_of(gateway: str) -> str:
    match = _SCHEME.match(gateway)
    if not match or not gateway[match.end() :].startswith("//"):
        raise _deny(f"gateway origin {gateway!r} is not an absolute http(s) URL")
    scheme = match.group(1).lower()
    authority = gateway[match.end() + 2 :].split("/", 1)[0]
    return f"{scheme}://{_normal_authority(scheme, authority)}"


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
        if key.strip().lower() in _OVERRIDE_PARAMS:
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
