"""Operations: method + path template on an API proxy, with a stable id.

An operation's ``path_template`` is relative to the proxy's base path, ``/``
being the base path itself, and its parameters are whole segments written
``{name}`` (OpenAPI style). ``Operation.path(params)`` builds the concrete
path with each value percent-encoded as one segment.

Operation ids
-------------
An OpenAPI ``operationId`` (or ``operationId`` on an operation listed beside
the proxy) wins: it becomes ``<proxy>.<operationId>`` unless it already holds
a dot. Otherwise the id is ``<proxy>.<name>``, with ``name`` derived from
the method and the shape of the template (ids chosen explicitly are
assigned first):

- base path itself: ``GET`` -> ``list``, ``POST`` -> ``create``;
- ends in a parameter: verb + the singular of the literal before it, if any
  (``GET /{id}`` -> ``get``, ``GET /shipments/{id}`` -> ``get_shipment``);
- ends in a literal that follows a parameter (a sub-resource or an action of
  one item): ``POST`` -> the literal itself (``POST /{id}/cancel`` ->
  ``cancel``), ``GET`` -> ``list_<literal>`` (``GET /{id}/items`` ->
  ``list_items``), other verbs -> ``<verb>_<literal>``;
- ends in a literal at collection level: plural ``GET`` -> ``list_<literal>``,
  plural ``POST`` -> ``create_<singular>`` (``POST /shipments`` ->
  ``create_shipment``), anything else -> ``<verb>_<literal>``, except
  ``GET /search``-like singular reads -> the literal (``search``).

where verb is ``get``/``create``/``replace``/``update``/``delete`` for
GET/POST/PUT/PATCH/DELETE and the lower-case method otherwise. Ids that
collide within a proxy get ``_2``, ``_3``... in (template, method) order, so
the result depends only on the set of operations.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from copilot.errors import InputError, ProductsError, ScopeDenied

_PARAM = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_.\-]*)\}$")
_LITERAL = re.compile(r"^[A-Za-z0-9\-_~!$&'()+,=:@.]+$")
_ID_PART = re.compile(r"[^A-Za-z0-9_.\-]+")
VERBS = {"GET": "get", "POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}
# Stands for "any value of a parameter" when a template is matched against
# product resource paths: resource paths cannot contain control characters,
# so only * and ** can match it, which is exactly "every value".
PARAM_SENTINEL = "\x00"


@dataclass(frozen=True)
class Operation:
    """One callable operation of the catalog.

    ``scopes`` are the scopes whose API products grant it (any one suffices).
    """

    id: str
    proxy: str
    base_path: str
    method: str
    path_template: str
    scopes: tuple[str, ...] = ()
    source: str = "products"  # products | inline | openapi | logs
    summary: str = ""

    @property
    def params(self) -> tuple[str, ...]:
        """Parameter names in the order they appear in the template."""
        return tuple(m.group(1) for s in segments(self.path_template) if (m := _PARAM.match(s)))

    @property
    def full_template(self) -> str:
        """Base path + template, e.g. ``/v1/orders/{id}/cancel``."""
        return join_base(self.base_path, self.path_template)

    def path(self, params: Mapping[str, object] | None = None) -> str:
        """The concrete request path, each parameter encoded as one segment."""
        params = dict(params or {})
        missing = [p for p in self.params if p not in params]
        extra = sorted(set(params) - set(self.params))
        if missing or extra:
            raise InputError(
                f"operation {self.id} takes parameters {list(self.params)}; "
                f"missing {missing}, unexpected {extra}"
            )
        parts = []
        for segment in segments(self.path_template):
            match = _PARAM.match(segment)
            parts.append(encode_param(match.group(1), params[match.group(1)]) if match else segment)
        return join_base(self.base_path, "/" + "/".join(parts) if parts else "/")

    def matches_suffix(self, method: str, suffix: str) -> int:
        """How specifically this operation names ``method suffix``: -1 not at all, else the
        number of literal segments (more literals = more specific)."""
        if method != self.method:
            return -1
        template = segments(self.path_template)
        concrete = [s for s in suffix.split("/")[1:]] if suffix not in ("", "/") else []
        if len(template) != len(concrete):
            return -1
        literals = 0
        for pattern, value in zip(template, concrete, strict=True):
            if _PARAM.match(pattern):
                if not value:
                    return -1
            elif pattern != value:
                return -1
            else:
                literals += 1
        return literals

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "proxy": self.proxy,
            "base_path": self.base_path,
            "method": self.method,
            "path_template": self.path_template,
            "full_template": self.full_template,
            "params": list(self.params),
            "scopes": list(self.scopes),
            "source": self.source,
            "summary": self.summary,
        }


def encode_param(name: str, value: object) -> str:
    """One parameter value as one path segment; values that could climb are refused."""
    text = str(value)
    if text in ("", ".", ".."):
        raise ScopeDenied(f"parameter {name!r} may not be {text!r}: it would not name one segment")
    if "/" in text or "\\" in text:
        raise ScopeDenied(f"parameter {name!r} contains a path separator: {text[:40]!r}")
    return quote(text, safe="-_~!$&'()*+,=:@")


def join_base(base_path: str, template: str) -> str:
    base = base_path.rstrip("/")
    return (base or "/") if template == "/" else base + template


def segments(template: str) -> list[str]:
    return [] if template in ("", "/") else template.strip("/").split("/")


def normalize_template(template: str, where: str) -> str:
    """``""``/``/`` -> ``/``; no trailing slash; every segment a literal or ``{param}``."""
    text = (template or "/").strip()
    if not text.startswith("/"):
        text = "/" + text
    if len(text) > 1:
        text = text.rstrip("/")
    for segment in segments(text):
        if _PARAM.match(segment):
            continue
        if segment in ("", ".", "..") or not _LITERAL.match(segment) or "*" in segment:
            raise ProductsError(f"{where}: path {template!r} has an unusable segment {segment!r}")
    return text


def shape(method: str, template: str) -> tuple[str, tuple[str | None, ...]]:
    """Identity of an operation regardless of parameter names."""
    return method, tuple(None if _PARAM.match(s) else s for s in segments(template))


def sample_suffix(template: str) -> str:
    """The template with every parameter replaced by :data:`PARAM_SENTINEL`."""
    parts = [PARAM_SENTINEL if _PARAM.match(s) else s for s in segments(template)]
    return "/" + "/".join(parts) if parts else ""


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _plural(word: str) -> bool:
    return _singular(word) != word


def derive_name(method: str, template: str) -> str:
    """The operation name for ``method template`` (see the module docstring)."""
    verb = VERBS.get(method, method.lower())
    parts = segments(template)
    if not parts:
        return {"GET": "list", "POST": "create"}.get(method, verb)
    is_param = [bool(_PARAM.match(p)) for p in parts]
    last = parts[-1]
    if is_param[-1]:
        earlier = zip(parts[-2::-1], is_param[-2::-1], strict=True)
        literal = next((p for p, param in earlier if not param), None)
        return f"{verb}_{_singular(literal)}" if literal else verb
    after_param = len(parts) > 1 and is_param[-2]
    if after_param:
        return {"POST": last, "GET": f"list_{last}"}.get(method, f"{verb}_{last}")
    if _plural(last):
        return {"GET": f"list_{last}", "POST": f"create_{_singular(last)}"}.get(
            method, f"{verb}_{last}"
        )
    return last if method == "GET" else f"{verb}_{last}"


def clean_id_part(text: str) -> str:
    return _ID_PART.sub("_", text).strip("_").lower() or "op"


def assign_ids(
    drafts: list[tuple[str, str, str, str | None]],
) -> list[str]:
    """Ids for ``(proxy, method, template, explicit_id)`` drafts, unique and deterministic."""
    # Explicit ids first, so a derived id never takes a name someone chose.
    order = sorted(
        range(len(drafts)),
        key=lambda i: (drafts[i][3] is None, drafts[i][0], drafts[i][2], drafts[i][1]),
    )
    taken: set[str] = set()
    ids = [""] * len(drafts)
    for i in order:
        proxy, method, template, explicit = drafts[i]
        if explicit:
            base = explicit if "." in explicit else f"{proxy}.{explicit}"
        else:
            base = f"{clean_id_part(proxy)}.{clean_id_part(derive_name(method, template))}"
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        taken.add(candidate)
        ids[i] = candidate
    return ids
