"""Apigee resource-path matching, pinned to Google's published cases.

Sources: the table in cloud.google.com/apigee/docs/api-platform/publish/create-api-products
("Default behavior of resource paths", base path /v1/weatherapikey written /bp here)
and the Edge Microgateway tests of apigee/microgateway-plugins
(``lib/validateResourcePath.js``), as summarised in docs/apigee.md, 'Resource path
matching'.
"""

from __future__ import annotations

import pytest

from copilot.scopes.matching import compile_resource, methods_allow, pattern_problem


def _suffix(request: str) -> str:
    assert request.startswith("/bp")
    return request[len("/bp") :]


GOOGLE_TABLE = {
    # request:        /      /*     /**    /*/2/**
    "/bp": (True, False, False, False),
    "/bp/": (True, False, False, False),
    "/bp/1": (True, True, True, False),
    "/bp/1/": (True, True, True, False),
    "/bp/1/2": (True, False, True, False),
    "/bp/1/2/": (True, False, True, True),
    "/bp/1/2/3/": (True, False, True, True),
    "/bp/1/a/2/3/": (True, False, True, False),
}
PATTERNS = ("/", "/*", "/**", "/*/2/**")

TABLE_CASES = [
    pytest.param(pattern, request, row[i], id=f"google-table {pattern} {request}")
    for request, row in GOOGLE_TABLE.items()
    for i, pattern in enumerate(PATTERNS)
]


@pytest.mark.parametrize(("pattern", "request_path", "allowed"), TABLE_CASES)
def test_googles_resource_path_table(pattern: str, request_path: str, allowed: bool) -> None:
    assert compile_resource(pattern).matches(_suffix(request_path)) is allowed


MICROGATEWAY_CASES = [
    # /*/2/** beyond the table
    ("/*/2/**", "/bp/1/2/3/4/", True, "** is greedy across segments"),
    ("/*/2/**", "/bp/1/s/2/3/4/", False, "* is exactly one segment before 2"),
    # a literal path
    ("/a/b/c", "/bp/a/b/c", True, "literal path matches itself"),
    ("/a/b/c", "/bp/a", False, "literal path does not match a prefix"),
    ("/a/b/c", "/bp/a/b", False, "literal path does not match a longer prefix"),
    ("/a/b/c", "/bp/a/b/c/d", False, "literal path does not match below itself"),
    # /*/ : a trailing slash in the resource path itself
    ("/*/", "/bp", False, "/*/ needs one segment and a slash"),
    ("/*/", "/bp/", False, "/*/ needs a non-empty segment"),
    ("/*/", "/bp/1", False, "/*/ needs the trailing slash"),
    ("/*/", "/bp/1/", True, "/*/ matches one segment with a slash"),
    ("/*/", "/bp/1/2", False, "/*/ is one level only"),
    ("/*/", "/bp/1/2/", False, "/*/ is one level only, even with a slash"),
    ("/*/", "/bp/1/2/3/", False, "/*/ is one level only (three)"),
    ("/*/", "/bp/1/a/2/3/", False, "/*/ is one level only (four)"),
    # /*/2/**/
    ("/*/2/**/", "/bp", False, "base path is not under /*/2/**/"),
    ("/*/2/**/", "/bp/", False, "bare slash is not under /*/2/**/"),
    ("/*/2/**/", "/bp/1", False, "one segment is not under /*/2/**/"),
    ("/*/2/**/", "/bp/1/", False, "one segment with slash is not under /*/2/**/"),
    ("/*/2/**/", "/bp/1/2", False, "/1/2 lacks the part after 2/"),
    ("/*/2/**/", "/bp/1/2/", False, "/1/2/ lacks the final slash after **"),
    ("/*/2/**/", "/bp/1/2/3/", True, "/1/2/3/ ends in a slash after **"),
    ("/*/2/**/", "/bp/1/2/3", False, "/1/2/3 lacks the trailing slash"),
    ("/*/2/**/", "/bp/1/a/2/3/", False, "two segments before 2"),
    # /a/*/users/*
    ("/a/*/users/*", "/bp/a/b/users/c", True, "wildcards inside a path"),
    ("/a/*/users/*", "/bp/a/b c/users/d", True, "a space is part of a segment"),
    ("/a/*/users/*", "/bp/a/b_c/users/d", True, "underscore in a segment"),
    ("/a/*/users/*", "/bp/a/b-c/users/d", True, "hyphen in a segment"),
    ("/a/*/users/*", "/bp/a/b:c/users/d", True, "colon in a segment"),
    ("/a/*/users/*", "/bp/a/b=c/users/d", True, "equals sign in a segment"),
    ("/a/*/users/*", "/bp/a/b,c/users/d", True, "comma in a segment"),
    ("/a/*/users/*", "/bp/a/b/users", False, "missing the last segment"),
    ("/a/*/users/*", "/bp/a/users/c", False, "missing the middle segment"),
    ("/a/*/users/*", "/bp/a/b c/users/d/", False, "no trailing-slash allowance past one level"),
    ("/a/*/users/*", "/bp/a/b c/users/d/e", False, "one segment too many"),
    # literal special characters
    ("/a@@@@", "/bp/a@@@@", True, "@ is an ordinary character"),
    ("/a@@@@", "/bp/a", False, "literal needs all its characters"),
    ("/a@@@@", "/bp/a@@@", False, "literal needs every @"),
    ("/a@@@@", "/bp/@@@@", False, "literal needs its leading a"),
    ("/a@@@@", "/bp/asdas/b/c", False, "literal does not match other paths"),
]


@pytest.mark.parametrize(
    ("pattern", "request_path", "allowed"),
    [
        pytest.param(p, r, a, id=f"microgateway {p} {r}: {why}")
        for p, r, a, why in MICROGATEWAY_CASES
    ],
)
def test_microgateway_cases(pattern: str, request_path: str, allowed: bool) -> None:
    assert compile_resource(pattern).matches(_suffix(request_path)) is allowed


@pytest.mark.parametrize(
    "request_path", ["/bp/a/b/c", "/bp/a", "/bp/a/", "/bp/b", "/bp/b/", "/bp/a/b", "/bp/a/b/c/d"]
)
def test_a_product_grants_the_union_of_its_resource_paths(request_path: str) -> None:
    # Microgateway "customPattern": / wins over everything else it lists.
    patterns = [compile_resource(p) for p in ("/", "/*", "/**", "/a/b/c", "/a")]
    assert any(p.matches(_suffix(request_path)) for p in patterns)
    assert compile_resource("/").is_everything


GLUED_WILDCARDS = ["/a*", "/a**", "/a**/b/*", "/a**/b/**", "/@@@@**", "/abc/*a", "/abc*/a"]


@pytest.mark.parametrize("pattern", GLUED_WILDCARDS)
def test_wildcards_glued_to_characters_grant_nothing(pattern: str) -> None:
    # The Microgateway expands these; Apigee X documents them as not permitted,
    # so atc reads them as granting nothing (never a false allow).
    compiled = compile_resource(pattern)
    assert "whole segments" in compiled.problem
    for suffix in ("/a", "/asdas/", "/a/ds/b/c", "/@@@@/x", "/abc/xa", "/abcd/a"):
        assert not compiled.matches(suffix)


ATC_STRICTER = [
    ("/Orders", "/orders", False, "matching is case-sensitive (the Microgateway is not)"),
    ("/orders", "/ORDERS", False, "matching is case-sensitive, upper-case request"),
    ("/a.b", "/aXb", False, "a literal dot is a dot, not any character"),
    ("/a.b", "/a.b", True, "a literal dot matches a dot"),
    ("orders", "/orders", True, "a missing leading slash is added, as the Microgateway does"),
    ("/a/**/c", "/a/x/y/c", True, "** inside a path spans segments"),
    ("/a/**/c", "/a/c", False, "** inside a path still needs its slashes"),
    ("/**", "/x/y/z", True, "/** spans any depth"),
    ("/*", "/x/", True, "trailing slash allowance for a single-slash pattern"),
    ("/x/*", "/x/y/", False, "no trailing-slash allowance for a deeper pattern"),
]


@pytest.mark.parametrize(
    ("pattern", "suffix", "allowed"),
    [pytest.param(p, s, a, id=why) for p, s, a, why in ATC_STRICTER],
)
def test_atc_rules_beyond_the_microgateway(pattern: str, suffix: str, allowed: bool) -> None:
    assert compile_resource(pattern).matches(suffix) is allowed


def test_a_case_only_difference_is_detectable_for_a_clear_reason() -> None:
    pattern = compile_resource("/Orders/*")
    assert not pattern.matches("/orders/1")
    assert pattern.matches_ignoring_case("/orders/1")


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("", "empty"),
        ("  /a", "whitespace"),
        ("/a//b", "empty segment"),
        ("/orders/{id}", "braces"),
        ("/a/../b", "dot segment"),
        ("/a/%2e", "characters"),
        ("/a b", "characters"),
    ],
)
def test_resource_paths_apigee_would_not_accept_grant_nothing(pattern: str, problem: str) -> None:
    assert problem in pattern_problem(pattern)
    assert not compile_resource(pattern).matches("/a/b")


@pytest.mark.parametrize(
    ("methods", "method", "allowed"),
    [
        ((), "DELETE", True),
        (("GET",), "GET", True),
        (("GET",), "POST", False),
        (("GET", "PATCH"), "PATCH", True),
    ],
)
def test_an_empty_method_list_permits_every_method(
    methods: tuple[str, ...], method: str, allowed: bool
) -> None:
    assert methods_allow(methods, method) is allowed
