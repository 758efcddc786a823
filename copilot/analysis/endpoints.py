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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# (token, pattern of the whole segment, needs a digit), highest priority first.
# Every id shape needs a digit, which keeps words such as "deadbeef" literal.
_ID = r"\d+|[0-9a-fA-F]{8,}|[A-Za-z]+[_-](?:\d+|[A-Za-z0-9]{4,})|[A-Za-z0-9._~=-]{16,}"
RULES: tuple[tuple[str, str, bool], ...] = (
    (
        "{uuid}",
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        False,
    ),
    ("{date}", r"\d{4}-\d{2}-\d{2}", False),
    ("{id}", _ID, True),
    ("{email}", r"[^@]+@[^@]+\.[A-Za-z]{2,}", False),
)
_QUERY = r"[?#].*"
_COMPILED = tuple((token, re.compile(pattern), digit) for token, pattern, digit in RULES)
_QUERY_RE = re.compile(_QUERY, re.DOTALL)
_HAS_DIGIT = re.compile(r"\d")
_UUID_BYTES = 36


@lru_cache(maxsize=65_536)
def template_path(path: str) -> str:
    """The endpoint template of one request path (``/v1/orders/8412`` -> ``/v1/orders/{id}``)."""
    clean = _QUERY_RE.sub("", path or "")
    return "/".join(_template_segment(s) for s in clean.split("/")) or "/"


def _template_segment(segment: str) -> str:
    if not segment:
        return segment
    for token, pattern, digit in _COMPILED:
        if pattern.fullmatch(segment) and (not digit or _HAS_DIGIT.search(segment)):
            return token
    return segment


def template_paths(paths: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Vectorised ``template_path`` over an Arrow string array (nulls become ``/``)."""
    if isinstance(paths, pa.ChunkedArray):
        paths = paths.combine_chunks()
    clean = pc.fill_null(pc.cast(paths, pa.string()), "")
    if (
        pc.any(pc.match_substring(clean, "?")).as_py()
        or pc.any(pc.match_substring(clean, "#")).as_py()
    ):
        clean = pc.replace_substring_regex(clean, _QUERY, "")
    parts = pc.split_pattern(clean, "/")
    # Segments repeat a lot ("v1", "orders"): template each distinct one once.
    segments = pc.dictionary_encode(pc.list_flatten(parts))
    templated = _template_segments(segments.dictionary).take(segments.indices)
    joined = pc.binary_join(pa.ListArray.from_arrays(parts.offsets, templated), "/")
    return pc.if_else(pc.equal(joined, ""), pa.scalar("/"), joined)


def common_ids(paths: pa.Array) -> pa.Array:
    """Replace all-digit segments by ``{id}`` and UUIDs by ``{uuid}`` (the cheap pass over rows).

    Numbers and UUIDs are most ids; replacing them first collapses the many
    distinct paths of a chunk to a few, so hashing them and templating the
    distinct ones costs little. ``template_paths`` of the result equals that of
    ``paths``. Only 36-byte segments can be UUIDs, so the regex runs on those alone.
    """
    parts = pc.split_pattern(pc.fill_null(paths, ""), "/")
    segments = pc.list_flatten(parts)
    replaced = pc.if_else(pc.utf8_is_digit(segments), pa.scalar("{id}"), segments)
    sized = np.flatnonzero(
        pc.equal(pc.binary_length(segments), _UUID_BYTES).to_numpy(zero_copy_only=False)
    )
    if sized.size:
        hit = pc.match_substring_regex(segments.take(sized), f"^(?:{RULES[0][1]})$")
        mask = np.zeros(len(segments), dtype=bool)
        mask[sized[hit.to_numpy(zero_copy_only=False)]] = True
        replaced = pc.if_else(pa.array(mask), pa.scalar("{uuid}"), replaced)
    separator = pa.scalar("/", type=segments.type)
    return pc.binary_join(type(parts).from_arrays(parts.offsets, replaced), separator)


def _template_segments(segments: pa.Array) -> pa.Array:
    """Apply ``RULES`` to distinct segments; only those with a digit or '@' can change."""
    digits_only = pc.utf8_is_digit(segments)  # the common id, without a regex
    maybe = pc.and_not(
        pc.or_(pc.match_substring_regex(segments, r"\d"), pc.match_substring(segments, "@")),
        digits_only,
    )
    out = pc.if_else(digits_only, pa.scalar("{id}"), segments)
    where = pc.indices_nonzero(maybe)
    if len(where) == 0:
        return out
    candidates = pc.take(segments, where)
    has_digit = pc.match_substring_regex(candidates, r"\d")
    replaced = candidates
    # Apply the lowest-priority rule first so the highest-priority one wins.
    for token, pattern, digit in reversed(RULES):
        hit = pc.match_substring_regex(candidates, f"^(?:{pattern})$")
        if digit:
            hit = pc.and_(hit, has_digit)
        replaced = pc.if_else(hit, pa.scalar(token), replaced)
    # Scatter the candidates' results back into place.
    position = np.full(len(segments), -1, dtype=np.int64)
    position[where.to_numpy()] = np.arange(len(where))
    from_candidates = pa.array(position >= 0)
    return pc.if_else(from_candidates, pc.take(replaced, pa.array(np.maximum(position, 0))), out)
