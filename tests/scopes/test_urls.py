"""Hostile and ambiguous request targets are refused, each with a readable reason."""

from __future__ import annotations

import httpx
import pytest

from copilot.errors import ScopeDenied
from copilot.scopes.url_parts import split_url
from copilot.scopes.urls import check_headers, check_method, check_query, parse_target

GATEWAY = "https://api.shop.example"

HOSTILE_URLS = [
    # dot segments: raw, percent-encoded (either case), double-encoded, overlong UTF-8
    ("/v1/orders/../payments/1", "dot segment '..'"),
    ("/v1/orders/./1", "dot segment '.'"),
    ("/v1/orders/1/..", "dot segment '..'"),
    ("/v1/orders/%2e%2e/payments/1", "percent-encoded dot"),
    ("/v1/orders/%2E%2E/payments/1", "percent-encoded dot"),
    ("/v1/orders/.%2e/payments/1", "percent-encoded dot"),
    ("/v1/orders/%2e/1", "percent-encoded dot"),
    ("/v1/orders/%252e%252e/payments/1", "double percent-encoding"),
    ("/v1/orders/%25252e/1", "double percent-encoding"),
    ("/v1/orders/%c0%ae%c0%ae/payments", "invalid UTF-8"),
    ("/v1/orders/%e0%80%ae/1", "invalid UTF-8"),
    # Unicode that normalises into something else
    ("/v1/orders/%ef%bc%8e%ef%bc%8e/payments", "Unicode normalisation"),
    ("/v1/orders/%e2%80%a4/1", "Unicode normalisation"),
    ("/v1/orders/ｏrders", "raw non-ASCII"),
    # empty segments
    ("/v1/orders//1", "empty path segment"),
    ("/v1//orders/1", "empty path segment"),
    ("//evil.example/v1/orders", "scheme-relative"),
    # backslashes, raw and encoded
    ("/v1/orders\\..\\payments", "backslash"),
    ("/v1/orders/1\\cancel", "backslash"),
    ("/v1/orders/%5c../payments", "encoded backslash"),
    ("/v1/orders/%5C1", "encoded backslash"),
    # path parameters
    ("/v1/orders;jsessionid=1/1", "path parameter"),
    ("/v1/orders/1;/../../payments/1", "path parameter"),
    ("/v1/orders/1%3b/cancel", "encoded semicolon"),
    # encoded slashes and percent signs
    ("/v1/orders/1%2fcancel", "encoded slash"),
    ("/v1/orders/1%2Fcancel", "encoded slash"),
    ("/v1/orders/50%25", "encoded '%'"),
    ("/v1/orders/%zz", "malformed percent-encoding"),
    ("/v1/orders/%4", "malformed percent-encoding"),
    # encoded unreserved characters name the same resource two ways
    ("/v1/%6frders/1", "unreserved character"),
    ("/v1/orders/%41", "unreserved character"),
    ("/v1/orders/1%2dA", "unreserved character"),
    # NUL and control bytes, raw and encoded
    ("/v1/orders/1\x00", "NUL byte"),
    ("/v1/orders/1%00", "encoded control byte"),
    ("/v1/orders/1\r\nX-Evil: 1", "line break"),
    ("/v1/orders/1%0d%0aX-Evil:%201", "encoded control byte"),
    ("/v1/orders/1\t/x", "control character"),
    ("/v1/orders/1%09", "encoded control byte"),
    ("/v1/orders/1%7f", "encoded control byte"),
    ("/v1/orders/1\x7f", "control character"),
    ("/v1/orders/a b", "raw space"),
    # trailing-slash tricks
    ("/v1/orders/1/", "trailing slash"),
    ("/v1/orders/", "trailing slash"),
    ("/v1/orders/1/cancel/", "trailing slash"),
    # absolute URLs: other host, other scheme, other port, userinfo
    ("https://evil.example/v1/orders/1", "not to the gateway"),
    ("http://api.shop.example/v1/orders/1", "not to the gateway"),
    ("https://api.shop.example:8443/v1/orders/1", "not to the gateway"),
    ("https://api.shop.example.evil.example/v1/orders/1", "not to the gateway"),
    ("https://api.shop.example@evil.example/v1/orders/1", "userinfo"),
    ("https://user:pw@api.shop.example/v1/orders/1", "userinfo"),
    ("file:///etc/passwd", "scheme 'file'"),
    ("javascript:alert(1)", "scheme 'javascript'"),
    ("gopher://api.shop.example/v1/orders", "scheme 'gopher'"),
    ("https:/v1/orders/1", "malformed absolute URL"),
    ("https://api.shop.example:x/v1/orders", "not a number"),
    # the authority ends at the first '/', '?' or '#': what follows is query or fragment
    ("https://api.shop.example?/v1/orders/42", "carries a path or URL"),
    ("https://api.shop.example#/v1/orders/42", "fragment"),
    ("https://api.shop.example?/../payments/1", "carries a path or URL"),
    ("https://api.shop.example#@evil.example/v1/orders", "fragment"),
    ("https://api.shop.example\\@evil.example/v1/orders", "backslash"),
    ("https:///v1/orders/1", "names no host"),
    ("https://:443/v1/orders/1", "names no host"),
    ("https://api.shop.example:99999/v1/orders", "out of range"),
    ("https://api.shop.example:0/v1/orders", "out of range"),
    ("https://api.shop.example:+443/v1/orders", "not a number"),
    ("https://api.shop.example:443:443/v1/orders", "not a number"),
    ("https://api%2Eshop.example/v1/orders", "characters a host name cannot"),
    ("https://api.shop.example;x/v1/orders", "characters a host name cannot"),
    ("https://[::1/v1/orders", "characters a host name cannot"),
    ("https://[::g]/v1/orders", "not an address"),
    ("https://[::1]/v1/orders", "not to the gateway"),
    # fragments and relative references
    ("/v1/orders/1#/../../payments", "fragment"),
    ("v1/orders/1", "does not start with '/'"),
    ("", "no URL"),
    (" /v1/orders/1", "whitespace"),
    ("/v1/orders/" + "a" * 9000, "limit"),
    # characters that are never raw in a path
    ("/v1/orders/<script>", "not allowed raw"),
    ('/v1/orders/"1"', "not allowed raw"),
    ("/v1/orders/{id}", "not allowed raw"),
    ("/v1/orders/a|b", "not allowed raw"),
    ("/v1/orders/a^b", "not allowed raw"),
    ("/v1/orders/[1]", "not allowed raw"),
    # query strings that smuggle a path, a URL or a method
    ("/v1/catalog/search?q=/v1/payments/1", "carries a path or URL"),
    ("/v1/catalog/search?next=..%2f..%2fpayments", "carries a path or URL"),
    ("/v1/catalog/search?next=../payments", "carries a path or URL"),
    ("/v1/catalog/search?url=https://evil.example/", "carries a path or URL"),
    ("/v1/catalog/search?u=%2F%2Fevil.example", "carries a path or URL"),
    ("/v1/catalog/search?p=%5c%5cevil", "carries a path or URL"),
    ("/v1/catalog/search?q=%252e%252e%252f", "double percent-encoded"),
    ("/v1/orders/1?_method=DELETE", "overrides the HTTP method"),
    ("/v1/orders/1?X-HTTP-Method-Override=DELETE", "overrides the HTTP method"),
    ("/v1/orders/1?method=PATCH", "overrides the HTTP method"),
    ("/v1/catalog/search?q=a;b=c", "';' in the query"),
    ("/v1/catalog/search?q=a%00", "control characters"),
    ("/v1/catalog/search?q=%0d%0aSet-Cookie:x", "control characters"),
    ("/v1/catalog/search?q=%zz", "malformed percent-encoding"),
]


@pytest.mark.parametrize(
    ("url", "reason"), [pytest.param(u, r, id=f"{r}: {u[:50]!r}") for u, r in HOSTILE_URLS]
)
def test_hostile_urls_are_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(ScopeDenied) as refused:
        parse_target(url, gateway=GATEWAY)
    assert reason in refused.value.message


def test_absolute_urls_are_refused_when_no_gateway_is_named() -> None:
    with pytest.raises(ScopeDenied, match="atc checks calls to the gateway only"):
        parse_target("https://api.shop.example/v1/orders/1")


ACCEPTED = [
    ("/v1/orders", "/v1/orders", ""),
    ("/v1/orders/42", "/v1/orders/42", ""),
    ("/v1/orders/ORD-10023/items", "/v1/orders/ORD-10023/items", ""),
    ("/v1/orders/a%20b", "/v1/orders/a%20b", ""),
    ("/v1/orders/caf%C3%A9", "/v1/orders/caf%C3%A9", ""),
    ("/v1/catalog/search?q=red+shoes&page=2", "/v1/catalog/search", "q=red+shoes&page=2"),
    ("/v1/catalog/search?q=50%25", "/v1/catalog/search", "q=50%25"),
    ("https://api.shop.example/v1/orders/1", "/v1/orders/1", ""),
    ("HTTPS://API.SHOP.EXAMPLE:443/v1/orders/1", "/v1/orders/1", ""),
    ("https://api.shop.example?x=1", "/", "x=1"),
    ("https://api.shop.example:/v1/orders/1", "/v1/orders/1", ""),
    ("https://api.shop.example:0443/v1/orders/1", "/v1/orders/1", ""),
    ("/", "/", ""),
]


@pytest.mark.parametrize(("url", "path", "query"), ACCEPTED)
def test_unambiguous_urls_pass_unchanged(url: str, path: str, query: str) -> None:
    target = parse_target(url, gateway=GATEWAY)
    assert (target.path, target.query) == (path, query)


HOSTILE_HEADERS = [
    ({"X-HTTP-Method-Override": "DELETE"}, "overrides the HTTP method"),
    ({"x-http-method": "DELETE"}, "overrides the HTTP method"),
    ({"X-Method-Override": "PUT"}, "overrides the HTTP method"),
    ({"X-Original-Method": "PUT"}, "overrides the HTTP method"),
    ({"X-Original-URL": "/v1/payments/1/refund"}, "rewrites the URL"),
    ({"X-Rewrite-URL": "/v1/payments/1/refund"}, "rewrites the URL"),
    ({"X-Forwarded-Prefix": "/v1/payments"}, "changes the path"),
    ({"Authorization": "Bearer stolen"}, "scoped token"),
    ({"Host": "evil.example"}, "route the call elsewhere"),
    ({"X-Trace": "a\r\nX-Evil: 1"}, "header injection"),
]


@pytest.mark.parametrize(("headers", "reason"), HOSTILE_HEADERS)
def test_override_headers_and_header_injection_are_refused(headers: dict, reason: str) -> None:
    with pytest.raises(ScopeDenied) as refused:
        check_headers(headers)
    assert reason in refused.value.message


def test_ordinary_headers_pass() -> None:
    check_headers({"Accept": "application/json", "X-Request-Id": "abc-123", "Idempotency-Key": "k"})


@pytest.mark.parametrize(
    ("method", "reason"),
    [
        ("get", "not upper-case"),
        ("Post", "not upper-case"),
        ("TRACE", "not allowed"),
        ("CONNECT", "not allowed"),
        ("PROPFIND", "not allowed"),
        ("GET ", "whitespace"),
        ("", "no HTTP method"),
    ],
)
def test_methods_must_be_standard_and_upper_case(method: str, reason: str) -> None:
    with pytest.raises(ScopeDenied) as refused:
        check_method(method)
    assert reason in refused.value.message


def test_plain_query_strings_pass() -> None:
    check_query("q=red+shoes&category=boots&limit=24&offset=48&sort=price_asc")


# (url, whether parse_target accepts it when the URL's own origin is the gateway)
SPLITS = [
    ("http://gw.example?/v1/orders/42", False),
    ("http://gw.example#/v1/orders/42", False),
    ("http://gw.example?x=1", True),
    ("http://gw.example/v1/orders?x=1#frag", False),
    ("http://gw.example/a#b?c", False),
    ("https://gw.example:8443/v1/orders", True),
    ("https://gw.example:/v1/orders", True),
    ("https://gw.example:0443/v1", True),
    ("HTTP://GW.EXAMPLE/V1/Orders", True),
    ("http://[::1]:8080/v1/orders", True),
    ("http://[::1]/v1/orders", True),
    ("http://[0:0::1]/v1/orders", True),
    ("http://[::ffff:127.0.0.1]/v1", True),
    ("http://user@gw.example/v1", False),
    ("http://user:pw@gw.example/v1", False),
    ("http://a@b@gw.example/v1", False),
    ("http://gw.example@evil.example/v1", False),
    ("http://gw.example?@evil.example/v1", True),
    ("http://gw.example#@evil.example/v1", False),
    ("http://gw.example\\@evil.example/v1", False),
    ("http://gw.example/v1%2Forders", False),
    ("http://gw.example/v1/orders?next=%2Fv1", False),
    ("http:///v1/orders", False),
    ("http://:80/v1/orders", False),
    ("http://gw.example:8080:90/v1", False),
    ("http://[::1/v1", False),
    ("http://gw.example:99999/v1", False),
    ("http://gw%2eexample/v1", False),
    ("http://gw.example:+80/v1", False),
]


def _httpx_view(url: httpx.URL) -> tuple[str, int | None, str, str, str]:
    path = url.raw_path.decode("ascii").partition("?")[0]
    return url.host, url.port, path, url.query.decode("ascii"), url.fragment


def _origin(url: httpx.URL) -> str:
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{url.scheme}://{host}" + (f":{url.port}" if url.port else "")


@pytest.mark.parametrize(("url", "accepted"), SPLITS)
def test_urls_split_where_httpx_splits_them(url: str, accepted: bool) -> None:
    parts = split_url(url)
    try:
        sent = httpx.URL(url)
    except httpx.InvalidURL:
        # httpx cannot send it, so atc must not accept it either
        with pytest.raises(ScopeDenied):
            parse_target(url, gateway="http://gw.example")
        assert not accepted
        return
    port = int(parts.port) if parts.port else None
    port = None if port == {"http": 80, "https": 443}[parts.scheme] else port
    mine = (parts.host, port, parts.path or "/", parts.query or "", parts.fragment or "")
    assert mine == _httpx_view(sent)


@pytest.mark.parametrize(("url", "accepted"), SPLITS)
def test_an_accepted_url_is_checked_as_the_path_httpx_sends(url: str, accepted: bool) -> None:
    try:
        sent = httpx.URL(url)
    except httpx.InvalidURL:
        pytest.skip("httpx refuses it; see test_urls_split_where_httpx_splits_them")
    if not accepted:
        with pytest.raises(ScopeDenied):
            parse_target(url, gateway=_origin(sent))
        return
    target = parse_target(url, gateway=_origin(sent))
    _, _, path, query, _ = _httpx_view(sent)
    assert (target.path, target.query) == (path, query)


@pytest.mark.parametrize(
    "name",
    [
        "X-HTTP-Method-Override",
        "x-http-method-override",
        "X_HTTP_METHOD_OVERRIDE",
        "x_http_method_override",
        "X-Http_Method-Override",
        "X-Original-URL",
        "x-original-url",
        "X_Original_URL",
        "X-Rewrite-URL",
        "x_rewrite_url",
        "X_Forwarded_Prefix",
        "x-original-uri",
        "X-Forwarded-Host",
        "Forwarded",
        "AUTHORIZATION",
        "host",
    ],
)
def test_override_headers_are_refused_in_every_spelling(name: str) -> None:
    with pytest.raises(ScopeDenied, match="header"):
        check_headers({name: "/v1/payments/1/refund"})


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ([("X-Request-Id", "a"), ("X_Request_Id", "b")], "one field to servers"),
        ([("X Original URL", "/x")], "not an HTTP token"),
        ([("X-Original-URL:", "/x")], "not an HTTP token"),
        ([("X-Trace\r\nX-Evil", "1")], "header injection"),
    ],
)
def test_header_names_that_parse_two_ways_are_refused(headers: list, reason: str) -> None:
    with pytest.raises(ScopeDenied, match=reason):
        check_headers(headers)


@pytest.mark.parametrize(
    "query",
    ["_method=DELETE", "X_HTTP_METHOD_OVERRIDE=DELETE", "x-http-method=PUT", "_HttpMethod=PUT"],
)
def test_method_override_query_parameters_are_refused_in_every_spelling(query: str) -> None:
    with pytest.raises(ScopeDenied, match="overrides the HTTP method"):
        check_query(query)
