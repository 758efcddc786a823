"""Endpoint discovery: concrete request paths become path templates.

The query string and fragment are dropped (everything from the first ``?`` or
``#``), then each ``/``-separated segment is replaced when it matches one of
these rules (first match wins); every other segment is kept literally, so
``v1``, ``orders``, ``me`` or ``oauth2`` stay as they are:

=============  ===========================================  =========================
token          segment                                      example
=============  ===========================================  =========================
``{uuid}``     a UUID (8-4-4-4-12 hex digits)               ``3f2c...-9a1b`` -> {uuid}
``{date}``     an ISO date ``YYYY-MM-DD``                    ``2024-05-01``
``{id}``       digits only                                  ``8412``
``{id}``       8+ hex characters with at least one digit    ``9f8a3c2d``, ObjectIds
``{id}``       letters, ``_`` or ``-``, then 4+ letters or   ``pay_9f8a7b``, ``sku-1234``
               digits with at least one digit
``{id}``       16+ token characters (letters, digits,       ``dGhpcy1pcy1hLXRva2Vu1``
               ``._~=-``) with at least one digit
``{email}``    ``name@domain.tld``                          ``ann@example.com``
=============  ===========================================  =========================

Words without digits are never replaced (``deadbeef`` stays; ``deadbeef1`` is
an id), and trailing slashes and letter case are kept. An empty path becomes
``/``. ``template_path`` does one path with Python's ``re``;
``template_paths`` does an Arrow array at once with the same patterns
(pyarrow's RE2), which is how the analyzer templates each chunk's distinct
paths.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc

_DIGIT = r".*\d.*"
# (token, patterns that must all match the whole segment), highest priority first.
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("{uuid}", (r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",)),
    ("{date}", (r"\d{4}-\d{2}-\d{2}",)),
    ("{id}", (r"\d+",)),
    ("{id}", (r"[0-9a-fA-F]{8,}", _DIGIT)),
    ("{id}", (r"[A-Za-z]+[_-][A-Za-z0-9]{4,}", r"[A-Za-z]+[_-].*\d.*")),
    ("{id}", (r"[A-Za-z0-9._~=-]{16,}", _DIGIT)),
    ("{email}", (r"[^@]+@[^@]+\.[A-Za-z]{2,}",)),
)
_QUERY = r"[?#].*"
_COMPILED = tuple((token, tuple(re.compile(p) for p in pats)) for token, pats in RULES)
_QUERY_RE = re.compile(_QUERY, re.DOTALL)


@lru_cache(maxsize=65_536)
def template_path(path: str) -> str:
    """The endpoint template of one request path (``/v1/orders/8412`` -> ``/v1/orders/{id}``)."""
    clean = _QUERY_RE.sub("", path or "")
    return "/".join(_template_segment(s) for s in clean.split("/")) or "/"


def _template_segment(segment: str) -> str:
    if not segment:
        return segment
    for token, patterns in _COMPILED:
        if all(p.fullmatch(segment) for p in patterns):
            return token
    return segment


def template_paths(paths: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Vectorised ``template_path`` over an Arrow string array (nulls become ``/``)."""
    if isinstance(paths, pa.ChunkedArray):
        paths = paths.combine_chunks()
    paths = pc.cast(paths, pa.string())
    clean = pc.replace_substring_regex(pc.fill_null(paths, ""), _QUERY, "")
    parts = pc.split_pattern(clean, "/")
    segments = pc.list_flatten(parts)
    out = segments
    # Apply the lowest-priority rule first so the highest-priority one wins.
    for token, patterns in reversed(RULES):
        mask = None
        for pattern in patterns:
            hit = pc.match_substring_regex(segments, f"^(?:{pattern})$")
            mask = hit if mask is None else pc.and_(mask, hit)
        out = pc.if_else(mask, pa.scalar(token), out)
    rebuilt = pa.ListArray.from_arrays(parts.offsets, out)
    joined = pc.binary_join(rebuilt, "/")
    return pc.if_else(pc.equal(joined, ""), pa.scalar("/"), joined)
