"""The bridge's TOML contract (docs/bridge.md): read with tomllib, checked whole.

Keys documented there are a contract: new keys may be added, these are never
renamed. Unknown keys are refused (a typo must not silently widen access).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.errors import ConfigError
from copilot.scopes.headers import IDEMPOTENCY_HEADER
from copilot.scopes.keys import SUPPORTED_ALGS
from copilot.scopes.tokens import DEFAULT_LEEWAY_S

DEFAULT_PATH = Path(".atc") / "bridge.toml"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@~-]{0,199}$")
_HEADER = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_BRIDGE_KEYS = {
    "jwks", "issuer", "audience", "idempotency_header", "algorithms", "leeway_s",
    "max_token_lifetime_s", "token_header", "message_id_header", "message_id_idempotency",
    "max_body_bytes", "max_in_flight", "queue_wait_s", "retry_after_s", "update_timeout_s",
    "public_base_path", "route", "schemas",
}  # fmt: skip
_ROUTE_KEYS = {
    "match", "namespace", "task_queue", "workflows", "signals", "updates", "input_schema",
    "execution_timeout_s", "name",
}  # fmt: skip


@dataclass(frozen=True)
class Route:
    """Who (``match``: claim -> required value) may do what, where."""

    match: dict[str, str | tuple[str, ...]]
    namespace: str
    task_queue: str
    workflows: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()
    updates: tuple[str, ...] = ()
    input_schema: Path | None = None
    execution_timeout_s: int | None = None
    name: str = ""


@dataclass(frozen=True)
class BridgeConfig:
    """The whole ``[bridge]`` table."""

    jwks: str
    issuer: str
    audience: str
    routes: tuple[Route, ...]
    idempotency_header: str = IDEMPOTENCY_HEADER
    algorithms: tuple[str, ...] = SUPPORTED_ALGS
    leeway_s: float = float(DEFAULT_LEEWAY_S)
    max_token_lifetime_s: int = 3600  # an IdP's access token lives an hour, often
    # Apigee forwards the verified caller token here when the target request must not
    # carry Authorization (the local emulator strips it); Authorization wins when both are set.
    token_header: str = "X-Atc-Caller-Token"
    message_id_header: str = "X-Apigee-Message-Id"
    message_id_idempotency: bool = False
    max_body_bytes: int = 256 * 1024
    max_in_flight: int = 64
    queue_wait_s: float = 2.0
    retry_after_s: int = 1
    update_timeout_s: float = 10.0
    # The path callers see at the gateway (status_url starts with it); the gateway strips it.
    public_base_path: str = ""
    schemas: dict[str, Path] = field(default_factory=dict)
    source: str = ""

    @property
    def jwks_ref(self) -> str:
        """The JWKS as :func:`copilot.scopes.keys.load_jwks` takes it (``file:`` dropped)."""
        return self.jwks[5:] if self.jwks.startswith("file:") else self.jwks


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}")


def _names(where: str, key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and _NAME.match(v) for v in value):
        raise _fail(where, f"{key} must be a list of names ([A-Za-z0-9._:@~-], 1-200 characters)")
    return tuple(value)


def _match(where: str, value: Any) -> dict[str, str | tuple[str, ...]]:
    if not isinstance(value, dict) or not value:
        raise _fail(where, "match must be a non-empty table of claim = value")
    out: dict[str, str | tuple[str, ...]] = {}
    for claim, wanted in value.items():
        if isinstance(wanted, str) and wanted:
            out[claim] = wanted
        elif isinstance(wanted, list) and wanted and all(isinstance(w, str) for w in wanted):
            out[claim] = tuple(wanted)
        else:
            raise _fail(where, f"match.{claim} must be a non-empty string or list of strings")
    return out


def _path(base: Path, where: str, value: Any) -> Path:
    if not isinstance(value, str) or not value:
        raise _fail(where, "a schema must be a path to a JSON schema file")
    path = Path(value) if Path(value).is_absolute() else base / value
    if not path.is_file():
        raise _fail(where, f"schema file {path} does not exist")
    return path


def _route(base: Path, index: int, raw: Any) -> Route:
    where = f"bridge.route[{index}]"
    if not isinstance(raw, dict):
        raise _fail(where, "must be a table")
    unknown = sorted(set(raw) - _ROUTE_KEYS)
    if unknown:
        raise _fail(where, f"unknown key(s) {unknown}; known: {sorted(_ROUTE_KEYS)}")
    for key in ("namespace", "task_queue"):
        if not isinstance(raw.get(key), str) or not _NAME.match(raw[key]):
            raise _fail(where, f"{key} is required (a name)")
    timeout = raw.get("execution_timeout_s")
    if timeout is not None and (not isinstance(timeout, int) or timeout <= 0):
        raise _fail(where, "execution_timeout_s must be a positive integer")
    schema = raw.get("input_schema")
    return Route(
        match=_match(where, raw.get("match")),
        namespace=raw["namespace"],
        task_queue=raw["task_queue"],
        workflows=_names(where, "workflows", raw.get("workflows")),
        signals=_names(where, "signals", raw.get("signals")),
        updates=_names(where, "updates", raw.get("updates")),
        input_schema=_path(base, f"{where}.input_schema", schema) if schema else None,
        execution_timeout_s=timeout,
        name=str(raw.get("name") or f"route{index}"),
    )


def _number(where: str, raw: dict, key: str, default: Any, kind: type, low: float) -> Any:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
        raise _fail(where, f"{key} must be a number >= {low}")
    if kind is int and not isinstance(value, int):
        raise _fail(where, f"{key} must be an integer")
    return kind(value)


def parse_config(doc: dict[str, Any], base: Path = Path("."), source: str = "") -> BridgeConfig:
    """Check a parsed TOML document; ConfigError naming the bad key otherwise."""
    where = source or "bridge config"
    raw = doc.get("bridge")
    if not isinstance(raw, dict):
        raise _fail(where, "no [bridge] table")
    unknown = sorted(set(raw) - _BRIDGE_KEYS)
    if unknown:
        raise _fail(where, f"unknown [bridge] key(s) {unknown}; known: {sorted(_BRIDGE_KEYS)}")
    for key in ("jwks", "issuer", "audience"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise _fail(where, f"bridge.{key} is required")
    algorithms = tuple(raw.get("algorithms", SUPPORTED_ALGS))
    if not algorithms or any(a not in SUPPORTED_ALGS for a in algorithms):
        raise _fail(where, f"bridge.algorithms must be a subset of {list(SUPPORTED_ALGS)}")
    headers = {k: raw.get(k, _default(k)) for k in _HEADER_KEYS}
    for key, value in headers.items():
        if not isinstance(value, str) or not _HEADER.match(value):
            raise _fail(where, f"bridge.{key} must be an HTTP header name")
    routes = raw.get("route")
    if not isinstance(routes, list) or not routes:
        raise _fail(where, "at least one [[bridge.route]] is required")
    schemas = raw.get("schemas") or {}
    if not isinstance(schemas, dict):
        raise _fail(where, "[bridge.schemas] must map workflow types to JSON schema files")
    prefix = raw.get("public_base_path", "")
    if not isinstance(prefix, str) or (
        prefix and not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", prefix)
    ):
        raise _fail(where, "bridge.public_base_path must look like /v1/bridge (or be empty)")
    numbers = {k: _number(where, raw, k, _default(k), kind, low) for k, kind, low in _NUMBERS}
    return BridgeConfig(
        jwks=raw["jwks"].strip(), issuer=raw["issuer"], audience=raw["audience"],
        routes=tuple(_route(base, i, r) for i, r in enumerate(routes)),
        algorithms=algorithms,
        message_id_idempotency=bool(raw.get("message_id_idempotency", False)),
        public_base_path=prefix,
        schemas={t: _path(base, f"bridge.schemas.{t}", p) for t, p in schemas.items()},
        source=source,
        **numbers,
        **headers,
    )  # fmt: skip


# The numeric settings: key, type, lowest value (defaults are BridgeConfig's).
_NUMBERS = (
    ("leeway_s", float, 0), ("max_token_lifetime_s", int, 1), ("max_body_bytes", int, 2),
    ("max_in_flight", int, 1), ("queue_wait_s", float, 0), ("retry_after_s", int, 1),
    ("update_timeout_s", float, 0.1),
)  # fmt: skip
_HEADER_KEYS = ("idempotency_header", "token_header", "message_id_header")


def _default(key: str) -> Any:
    """BridgeConfig's default for ``key`` (one definition of every default)."""
    return BridgeConfig.__dataclass_fields__[key].default


def load_config(path: str | Path) -> BridgeConfig:
    """Read and check a bridge TOML file (relative schema paths are relative to it)."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse_config(doc, path.parent, str(path))


def default_config_text(jwks_path: Path, namespace: str = "default") -> str:
    """A starting ``bridge.toml`` (``atc bridge`` docs): one route, nothing granted yet."""
    return f'''[bridge]
jwks = "file:{jwks_path}"
issuer = "atc"
audience = "atc-bridge"
idempotency_header = "{IDEMPOTENCY_HEADER}"
public_base_path = "/bridge"         # where `atc up`'s gateway fronts the bridge (status_url)

[[bridge.route]]                     # the first route whose match holds wins
match = {{ scope = "workflows.start" }}
namespace = "{namespace}"
task_queue = "atc-bridge"
workflows = []                       # types this caller may start
signals = []
updates = []
'''
