"""What the gateway emulator enforces, per proxy and as a whole (``copilot.scopes.emulator``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from copilot.scopes.catalog import Catalog
from copilot.scopes.headers import header_key
from copilot.scopes.keys import SUPPORTED_ALGS, JwksSource
from copilot.scopes.tokens import DEFAULT_LEEWAY_S, MAX_TTL_S


@dataclass(frozen=True)
class ProxyAuth:
    """One proxy's own VerifyJWT settings, and where its backend gets the verified token.

    ``token_header`` None: the backend never sees the token (the default for
    every proxy); a name: the token the emulator verified travels in it.
    """

    jwks: JwksSource
    audience: str
    issuer: str
    algorithms: tuple[str, ...] = SUPPORTED_ALGS
    leeway_s: float = DEFAULT_LEEWAY_S
    max_lifetime_s: int = MAX_TTL_S
    token_header: str | None = None


@dataclass
class EmulatorConfig:
    """What the emulator enforces and where it forwards.

    ``backends`` maps proxy names (or ``"*"``) to backend base URLs; a proxy
    with no backend is answered by the built-in echo. ``proxy_auth`` maps proxy
    names to their own :class:`ProxyAuth`; other proxies use the JWKS, audience
    and issuer here.
    """

    catalog: Catalog
    jwks: JwksSource
    audience: str
    issuer: str
    backends: Mapping[str, str] = field(default_factory=dict)
    spike_arrest: str | None = "100ps"
    leeway_s: float = DEFAULT_LEEWAY_S
    environment: str | None = None
    backend_timeout_s: float = 10.0
    idempotency_keys: int = 10_000
    proxy_auth: Mapping[str, ProxyAuth] = field(default_factory=dict)

    def auth_for(self, proxy: str) -> ProxyAuth:
        """The VerifyJWT settings of ``proxy``."""
        own = self.proxy_auth.get(proxy)
        return own or ProxyAuth(self.jwks, self.audience, self.issuer, leeway_s=self.leeway_s)

    def token_headers(self) -> set[str]:
        """Every header some proxy's backend receives the verified token in (folded)."""
        return {header_key(a.token_header) for a in self.proxy_auth.values() if a.token_header}
