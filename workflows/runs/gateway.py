"""The gateway the trusted activity worker calls: configured, or a local emulator.

With ``ATC_GATEWAY_URL`` set, calls go there (a real Apigee proxy), signed
with the key ``ATC_GATEWAY_KEY_REF`` refers to. Unset, the worker starts the
gateway emulator on loopback in front of the echo backend, with a demo key
kept in the data directory (``<data_dir>/keys``), so a fresh machine can run
approved drafts end to end. Either way only a key *reference* leaves here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from copilot.config import Settings
from copilot.errors import ConfigError
from copilot.scopes import load_catalog
from copilot.scopes.emulator import create_app
from copilot.scopes.emulator_config import EmulatorConfig
from copilot.scopes.keys import ensure_keypair, load_jwks
from copilot.scopes.server import BackgroundServer, echo_backend_app
from copilot.scopes.tokens import MAX_TTL_S


@dataclass(frozen=True)
class Gateway:
    """Where calls go and how they are signed (a key reference, never the key)."""

    base_url: str
    key_ref: str
    issuer: str
    audience: str
    token_ttl_s: int
    emulated: bool


def _ttl(settings: Settings) -> int:
    ttl = settings.gateway_token_ttl_s
    if not 0 < ttl <= MAX_TTL_S:
        raise ConfigError(f"ATC_GATEWAY_TOKEN_TTL_S={ttl} is outside 1..{MAX_TTL_S} seconds")
    return ttl


@contextlib.contextmanager
def gateway(settings: Settings) -> Iterator[Gateway]:
    """The configured gateway, or an emulator serving for the ``with`` block."""
    ttl = _ttl(settings)
    if settings.gateway_url:
        if not settings.gateway_key_ref:
            raise ConfigError("ATC_GATEWAY_URL is set but ATC_GATEWAY_KEY_REF is not")
        yield Gateway(
            settings.gateway_url, settings.gateway_key_ref, settings.gateway_issuer,
            settings.gateway_audience, ttl, emulated=False,
        )  # fmt: skip
        return
    key = ensure_keypair(settings.data_dir / "keys")
    with BackgroundServer(echo_backend_app()) as backend:
        app = create_app(
            EmulatorConfig(
                catalog=load_catalog(None),
                jwks=load_jwks(key.jwks_path),
                audience=settings.gateway_audience,
                issuer=settings.gateway_issuer,
                backends={"*": backend.url},
            )
        )
        with BackgroundServer(app) as emulator:
            yield Gateway(
                emulator.url, key.ref, settings.gateway_issuer, settings.gateway_audience,
                ttl, emulated=True,
            )  # fmt: skip
