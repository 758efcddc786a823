"""Apigee API product resource matching, exactly as the gateway does it.

What an API product grants is a set of *resource paths*, each optionally
limited to a list of HTTP methods. This module decides whether one resource
path grants one request. It does no URL hygiene: :mod:`copilot.scopes.urls`
refuses ambiguous request targets before anything reaches the matcher.

Semantics implemented here, with their sources
----------------------------------------------
1. A resource path is matched against ``proxy.pathsuffix``: the request path
   after the API proxy's base path (``""`` for the base path itself).
   Resource ``/forecastrss`` under base path ``/weather`` permits only
   ``/weather/forecastrss``.
   (cloud.google.com/apigee/docs/api-platform/publish/create-api-products,
   "Configuring resource paths")
2. ``/`` permits the base path and everything below it; ``/**`` permits every
   sub-path but not the bare base path; ``/*`` permits exactly one level
   below. When a product lists ``/`` and ``/**``, ``/`` wins: a grant is the
   union of its resource paths, so the more inclusive one decides. (same page)
3. Wildcards stand for whole segments and may sit inside a path (``/*/2/**``,
   ``/a/*/users/*``). ``*`` is exactly one non-empty segment; ``**`` is a
   greedy match of anything, ``/`` included, possibly empty. A wildcard glued
   to other characters in one segment (``/abc*/a``) is *not permitted* by
   Apigee; atc loads such a path as granting nothing and reports it. (same page,
   "Using wildcards in resource paths")
4. Trailing slash: when the request path ends in ``/``, the resource path has
   exactly one ``/`` (at its start) and does not itself end in ``/``, the
   resource path is matched as if it ended in ``/``. So ``/*`` permits ``/bp/1/``
   and ``/**`` does not permit ``/bp/``. This is the algorithm of Google's Edge
   Microgateway (apigee/microgateway-plugins ``lib/validateResourcePath.js``),
   and it reproduces the table Google publishes (pinned in
   ``tests/scopes/test_matching.py``):

   ========================  ===  ====  =====  =========
   request                   /    /*    /**    /*/2/**
   ========================  ===  ====  =====  =========
   /bp, /bp/                 yes  no    no     no
   /bp/1, /bp/1/             yes  yes   yes    no
   /bp/1/2                   yes  no    yes    no
   /bp/1/2/, /bp/1/2/3/      yes  no    yes    yes
   /bp/1/a/2/3/              yes  no    yes    no
   ========================  ===  ====  =====  =========

5. A resource path without a leading ``/`` is read with one (the
   Microgateway prepends it too).
6. Methods: an operation's ``methods`` list limits the verbs; an empty list
   permits every verb. Legacy ``apiResources`` carry no methods at all, so
   they permit every verb. (Apigee v1 API reference, ``Operation.methods``)

Where atc is stricter than the Microgateway, on purpose
-------------------------------------------------------
- Matching is case-sensitive. The Microgateway compiles its regular
  expression with the ``i`` flag, while Apigee X routes base paths
  case-sensitively; :mod:`copilot.scopes.check` refuses a request that would
  match only when letter case is ignored, so neither reading can allow what
  the other denies.
- The Microgateway accepts a resource path that already contains the base
  path (a substring test, easily fooled); atc always reads resource paths as
  relative to the base path.
- Literal characters are matched literally (the Microgateway puts them into a
  regular expression unescaped, so ``.`` matches any character).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_WILDCARD_TOKENS = re.compile(r"(\*\*|\*)")
# Characters a literal resource segment may hold: RFC 3986 pchar minus "%"
# (no encoded forms in product paths) and minus "*" (wildcards are whole
# segments only).
_LITERAL_SEGMENT = re.compile(r"^[A-Za-z0-9\-._~!$&'()+,;=:@]+$")


@dataclass(frozen=True)
class ResourcePattern:
    """One resource path of an API product, compiled for matching.

    ``problem`` is non-empty when Apigee would not accept the path; such a
    pattern matches nothing (a refusal is never a false allow).
    """

    text: str
    problem: str = ""
    _exact: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    _slashed: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    _exact_ci: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    _slashed_ci: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    @property
    def valid(self) -> bool:
        return not self.problem

    @property
    def is_everything(self) -> bool:
        """``/``: the base path and every sub-path."""
        return self.valid and self.text == "/"

    def matches(self, suffix: str) -> bool:
        """Whether this resource path permits the path suffix (case-sensitive)."""
        return self._match(suffix, self._exact, self._slashed)

    def matches_ignoring_case(self, suffix: str) -> bool:
        """Whether it would permit the suffix if letter case were ignored."""
        return self._match(suffix, self._exact_ci, self._slashed_ci)

    def _match(
        self, suffix: str, exact: re.Pattern[str] | None, slashed: re.Pattern[str] | None
    ) -> bool:
        if not self.valid:
            return False
        if self.is_everything:
            return True
        assert exact is not None
        if slashed is not None and suffix.endswith("/"):
            return bool(slashed.match(suffix))
        return bool(exact.match(suffix))


def _to_regex(pattern: str, flags: int = 0) -> re.Pattern[str]:
    parts = []
    for token in _WILDCARD_TOKENS.split(pattern):
        if token == "**":
            parts.append(".*")
        elif token == "*":
            parts.append("[^/]+")
        else:
            parts.append(re.escape(token))
    return re.compile("^" + "".join(parts) + r"\Z", flags)


def pattern_problem(text: str) -> str:
    """Why Apigee would not accept this resource path, or ``""`` when it would."""
    if not text or not text.strip():
        return "an empty resource path"
    if text != text.strip():
        return f"resource path {text!r} has surrounding whitespace"
    if text == "/":
        return ""
    body = text[1:] if text.startswith("/") else text
    segments = body.split("/")
    if body.endswith("/"):
        segments = segments[:-1]  # one trailing slash is allowed ("/*/")
    for segment in segments:
        if segment in ("*", "**"):
            continue
        if segment == "":
            return f"resource path {text!r} has an empty segment (//)"
        if "*" in segment:
            return (
                f"resource path {text!r} glues a wildcard to other characters in "
                f"segment {segment!r}; Apigee permits * and ** only as whole segments"
            )
        if "{" in segment or "}" in segment:
            return (
                f"resource path {text!r} uses braces; Apigee treats {{...}} literally, "
                f"not as a parameter (use *)"
            )
        if segment in (".", ".."):
            return f"resource path {text!r} has a dot segment"
        if not _LITERAL_SEGMENT.match(segment):
            return f"resource path {text!r} has characters Apigee does not match literally"
    return ""


def compile_resource(text: str) -> ResourcePattern:
    """Compile one product resource path (see the module docstring)."""
    problem = pattern_problem(text)
    if problem:
        return ResourcePattern(text=text, problem=problem)
    pattern = text if text.startswith("/") else "/" + text
    if pattern == "/":
        return ResourcePattern(text="/")
    # Rule 4: the Microgateway's trailing-slash allowance, precomputed.
    slash_variant = not pattern.endswith("/") and pattern.rfind("/") == 0
    return ResourcePattern(
        text=pattern,
        _exact=_to_regex(pattern),
        _slashed=_to_regex(pattern + "/") if slash_variant else None,
        _exact_ci=_to_regex(pattern, re.IGNORECASE),
        _slashed_ci=_to_regex(pattern + "/", re.IGNORECASE) if slash_variant else None,
    )


def methods_allow(methods: tuple[str, ...], method: str) -> bool:
    """An empty method list permits every verb; otherwise the verb must be listed."""
    return not methods or method in methods
