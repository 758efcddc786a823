"""Which request headers may cross the gateway, in any spelling.

Servers disagree about header names: most fold case, and CGI, WSGI, PHP and
many frameworks also read ``_`` as ``-`` (``X_Original_URL`` becomes the same
variable as ``X-Original-URL``). So every check here compares the folded form
(:func:`header_key`) and refuses two spellings of one field. Refused: method
overrides, URL and path rewrites, host overrides, caller-set ``Authorization``
and ``Host``, names that are not HTTP tokens, and control characters (header
injection). :func:`forwardable` is what a gateway may pass on to a backend:
never the refused headers, hop-by-hop headers or those ``Connection`` names,
whatever a check before it let through.

The ``Idempotency-Key`` header (:func:`check_idempotency_key`) names one
non-GET request so that a retry of it is answered, not repeated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from copilot.errors import InputError, ScopeDenied

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 200
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_KEY_TEXT = re.compile(r"[\x20-\x7e]+")
# Why each header may not be sent, and the headers that do it.
_REFUSED_BY_REASON = {
    "overrides the HTTP method behind the gateway's back": (
        "x-http-method-override", "x-http-method", "x-method-override", "x-original-method",
    ),
    "rewrites the URL after the gateway checked it": (
        "x-original-url", "x-rewrite-url", "x-override-url", "x-original-uri", "x-forwarded-url",
        "x-http-destinationurl",
    ),
    "changes the path a backend believes it serves": (
        "x-forwarded-prefix", "x-forwarded-path", "x-forwarded-uri", "x-envoy-original-path",
    ),
    "changes the host a backend believes it serves": ("x-forwarded-host", "x-host"),
    "changes the host and path a backend believes it serves": ("forwarded",),
    "is attached by the gateway client (the scoped token) and may not be set": ("authorization",),
    "is derived from the URL; a different one could route the call elsewhere": ("host",),
}  # fmt: skip
_REFUSED_HEADERS = {name: why for why, names in _REFUSED_BY_REASON.items() for name in names}


HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)


def header_key(name: str) -> str:
    """A header name as the most lenient server reads it: case folded, ``_`` as ``-``.

    CGI, WSGI, PHP and many frameworks map ``X_Original_URL`` and
    ``x-original-url`` to the same variable, so checks compare this form.
    """
    return str(name).strip().lower().replace("_", "-")


def refused_header(name: str) -> str | None:
    """Why atc refuses a header called ``name`` in any spelling; None if it does not."""
    return _REFUSED_HEADERS.get(header_key(name))


def check_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> None:
    """Refuse override headers (any spelling), caller-set credentials, names that
    collide once ``_`` reads as ``-``, and header injection."""
    items = headers.items() if isinstance(headers, Mapping) else (headers or ())
    seen: dict[str, str] = {}
    for name, value in items:
        name = str(name)
        if any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F for c in f"{name}{value}"):
            raise ScopeDenied(f"header {name!r} contains control characters (header injection)")
        if not _TOKEN.fullmatch(name):
            raise ScopeDenied(
                f"header name {name!r} is not an HTTP token; servers split it differently"
            )
        reason = refused_header(name)
        if reason:
            raise ScopeDenied(f"header {name!r} {reason}")
        key = header_key(name)
        first = seen.setdefault(key, name)
        if first.lower() != name.lower():
            raise ScopeDenied(
                f"headers {first!r} and {name!r} are one field to servers that read '_' as '-', "
                f"two to others"
            )


def forwardable(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers a gateway may pass on: no refused, hop-by-hop or ``Connection``-named ones.

    Independent of :func:`check_headers` on purpose, so a request that skipped
    the check still cannot carry an override to the backend.
    """
    items = [(str(k), str(v)) for k, v in headers]
    named = {
        header_key(token)
        for k, v in items
        if header_key(k) == "connection"
        for token in v.split(",")
        if token.strip()
    }
    return [
        (k, v)
        for k, v in items
        if header_key(k) not in HOP_BY_HOP and header_key(k) not in named and not refused_header(k)
    ]


def idempotency_problem(key: str) -> str | None:
    """Why ``key`` cannot be an Idempotency-Key (1-200 printable ASCII), or None."""
    if not isinstance(key, str) or not key:
        return "the Idempotency-Key is empty"
    if len(key) > MAX_IDEMPOTENCY_KEY:
        return f"the Idempotency-Key is {len(key)} characters long; the limit is 200"
    if not _KEY_TEXT.fullmatch(key):
        return "the Idempotency-Key holds characters other than printable ASCII"
    if key != key.strip():
        return "the Idempotency-Key has leading or trailing spaces, which HTTP strips"
    return None


def check_idempotency_key(key: str) -> str:
    """``key`` if it can travel as an Idempotency-Key; InputError with the reason otherwise."""
    problem = idempotency_problem(key)
    if problem:
        raise InputError(f"{problem}: {key!r:.80}")
    return key
