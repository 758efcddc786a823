"""The caller's token: where it is read from, verified like VerifyJWT, and remembered briefly.

The bridge never trusts identity headers: it reads a JWT (``Authorization:
Bearer``, or the header Apigee forwards it in when the target request must not
carry ``Authorization``) and verifies it with :func:`copilot.scopes.tokens.verify_token`
against the configured JWKS, issuer, audience, algorithm allow-list and leeway.

Verified tokens are remembered for at most ``CACHE_TTL_S`` (and never past their
``exp``), keyed by the SHA-256 of the exact token bytes: a client that repeats
its token skips the signature maths, any other byte string is verified in full,
and a key removed from the JWKS stops being honoured within ``CACHE_TTL_S``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any

from copilot.bridge.config import BridgeConfig
from copilot.errors import TokenInvalid
from copilot.scopes.keys import JwksSource
from copilot.scopes.tokens import fault_code, verify_token

CACHE_TTL_S = 30.0
CACHE_SIZE = 4096


class TokenRefused(Exception):
    """401 with Apigee's ``steps.jwt.*`` code and a reason (never the token)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def read_token(authorization: list[str], forwarded: list[str], forwarded_header: str) -> str:
    """The caller's JWT from ``Authorization: Bearer`` or the forwarded header (must agree)."""
    if len(authorization) > 1 or len(forwarded) > 1:
        raise TokenRefused("steps.jwt.InvalidToken", "more than one token header")
    bearer = ""
    if authorization:
        scheme, _, bearer = authorization[0].partition(" ")
        if scheme.lower() != "bearer" or not bearer.strip():
            raise TokenRefused(
                "steps.jwt.FailedToResolveVariable", "Authorization is not a Bearer token"
            )
    carried = forwarded[0].removeprefix("Bearer ").strip() if forwarded else ""
    if bearer.strip() and carried and bearer.strip() != carried:
        raise TokenRefused("steps.jwt.InvalidToken", f"Authorization and {forwarded_header} differ")
    token = bearer.strip() or carried
    if not token:
        raise TokenRefused(
            "steps.jwt.FailedToResolveVariable",
            f"no caller token (Authorization: Bearer, or {forwarded_header})",
        )
    return token


class Verifier:
    """Verify callers' tokens per the bridge config, with a short-lived cache of successes."""

    def __init__(self, config: BridgeConfig, jwks: JwksSource) -> None:
        self.config, self.jwks = config, jwks
        self._lock = threading.Lock()
        self._cache: OrderedDict[bytes, tuple[float, dict[str, Any]]] = OrderedDict()

    def claims(self, token: str, now: float | None = None) -> dict[str, Any]:
        """The verified claims; TokenRefused otherwise."""
        now = time.time() if now is None else now
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            hit = self._cache.get(digest)
            if hit is not None and hit[0] > now:
                self._cache.move_to_end(digest)
                return hit[1]
        config = self.config
        try:
            verified = verify_token(
                token, self.jwks, audience=config.audience, issuer=config.issuer,
                algorithms=config.algorithms, leeway_s=config.leeway_s,
                max_lifetime_s=config.max_token_lifetime_s, require_scope=False,
            )  # fmt: skip
        except TokenInvalid as exc:
            raise TokenRefused(fault_code(exc), exc.message) from None
        until = min(now + CACHE_TTL_S, float(verified.claims["exp"]))
        with self._lock:
            self._cache[digest] = (until, verified.claims)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return verified.claims
