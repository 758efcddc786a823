"""Short-lived scoped JWTs: mint them for a workflow, verify them like VerifyJWT.

A token carries ``iss``, ``aud``, ``sub`` (the workflow's identity), ``scope``
(space-separated approved scopes, RFC 8693 section 4.2 / RFC 9068), ``iat``,
``nbf``, ``exp`` (at most 15 minutes after ``iat``) and a random ``jti``.
``mint_token(..., scope_claim="scp")`` writes the scopes as an ``scp`` array
instead (the shape Okta and Microsoft Entra use). Verification accepts either:
``scope`` as a space-separated string, ``scp`` as an array of scope tokens or
a space-separated string; a token carrying both must carry the same set
(atc refuses the ambiguity; a gateway condition would read the union).

Verification refuses, before any signature maths: algorithms outside the
allow-list (``none``, every HMAC), headers that bring their own key
(``jwk``, ``jku``, ``x5u``, ``x5c``) or critical extensions, a missing
``kid`` and a ``kid`` the JWKS does not hold, and a key whose type does not
fit the algorithm. Then pyjwt checks the signature, ``exp``/``nbf``/``iat``
with leeway, ``aud``, ``iss`` and that every required claim is present.
Each refusal is a :class:`TokenInvalid` whose ``fault_code`` is the
``steps.jwt.*`` code Apigee's VerifyJWT raises for the same failure
(cloud.google.com/apigee/docs/api-platform/reference/policies/verify-jwt-policy).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt

from copilot.config import TOKEN_AUDIENCE, TOKEN_ISSUER, TOKEN_MAX_TTL_S, TOKEN_TTL_S
from copilot.errors import InputError, TokenInvalid
from copilot.scopes.keys import SUPPORTED_ALGS, JwksSource, SigningKey, resolve_key_ref

DEFAULT_ISSUER = TOKEN_ISSUER
DEFAULT_AUDIENCE = TOKEN_AUDIENCE
MAX_TTL_S = TOKEN_MAX_TTL_S
DEFAULT_TTL_S = TOKEN_TTL_S
DEFAULT_LEEWAY_S = 30
REQUIRED_CLAIMS = ("iss", "aud", "sub", "exp", "iat", "nbf", "jti")  # plus scope or scp
SCOPE_CLAIMS = ("scope", "scp")
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
_KEY_HEADERS = ("jwk", "jku", "x5u", "x5c")
_KTY = {"RS256": "RSA", "ES256": "EC"}


@dataclass(frozen=True)
class VerifiedToken:
    """A token that passed every check, with its claims."""

    claims: dict[str, Any]
    scopes: tuple[str, ...]
    subject: str
    kid: str
    alg: str

    @property
    def expires_at(self) -> int:
        return int(self.claims["exp"])


def _reject(code: str, message: str) -> TokenInvalid:
    error = TokenInvalid(message)
    error.fault_code = f"steps.jwt.{code}"  # type: ignore[attr-defined]
    return error


def fault_code(error: TokenInvalid) -> str:
    """The Apigee ``steps.jwt.*`` error code for a verification failure."""
    return getattr(error, "fault_code", "steps.jwt.InvalidToken")


def parse_scopes(value: Iterable[str] | str) -> tuple[str, ...]:
    """``"a b"``, ``"a,b"`` or a list -> sorted unique scope tokens (InputError if malformed)."""
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    scopes = sorted({s.strip() for s in items if s and s.strip()})
    for scope in scopes:
        if not _SCOPE_TOKEN.match(scope):
            raise InputError(f"scope {scope!r} is not a valid scope token")
    return tuple(scopes)


def mint_token(
    key: str | SigningKey,
    *,
    issuer: str,
    audience: str,
    subject: str,
    scopes: Iterable[str] | str,
    ttl_s: int = DEFAULT_TTL_S,
    now: float | None = None,
    scope_claim: str = "scope",
    client_id: str | None = None,
) -> str:
    """Sign a short-lived scoped JWT with the key behind reference ``key``.

    ``scope_claim="scp"`` carries the scopes as an ``scp`` array instead of a
    space-separated ``scope`` string. ``client_id`` adds that claim: the app's
    API key, which the bundles of ``atc scopes artifacts`` hand to VerifyAPIKey.
    """
    if scope_claim not in SCOPE_CLAIMS:
        raise InputError(f"scope claim {scope_claim!r} must be one of {', '.join(SCOPE_CLAIMS)}")
    signing = resolve_key_ref(key) if isinstance(key, str) else key
    granted = parse_scopes(scopes)
    if not granted:
        raise InputError("a token needs at least one scope")
    if not 0 < ttl_s <= MAX_TTL_S:
        raise InputError(f"token lifetime {ttl_s}s is outside 1..{MAX_TTL_S}s")
    for name, value in (("issuer", issuer), ("audience", audience), ("subject", subject)):
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"a token needs a non-empty {name}")
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        scope_claim: " ".join(granted) if scope_claim == "scope" else list(granted),
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(ttl_s),
        "jti": uuid.uuid4().hex,
    }
    if client_id is not None:
        if not isinstance(client_id, str) or not client_id.strip():
            raise InputError("a client_id claim must be a non-empty string")
        claims["client_id"] = client_id
    return jwt.encode(claims, signing.key, algorithm=signing.alg, headers={"kid": signing.kid})


def _header(token: str, algorithms: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(token, str) or token.count(".") != 2:
        raise _reject("FailedToDecode", "not a JWT (expected header.payload.signature)")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise _reject("FailedToDecode", f"cannot decode the token header ({exc})") from None
    except jwt.InvalidTokenError as exc:  # pyjwt checks "crit" while reading the header
        if "crit" in str(exc):
            raise _reject("UnhandledCriticalHeader", f"critical header: {exc}") from None
        raise _reject("FailedToDecode", f"cannot read the token header ({exc})") from None
    alg = header.get("alg")
    if alg not in algorithms:
        raise _reject(
            "AlgorithmMismatch",
            f"algorithm {alg!r} is not allowed (allowed: {', '.join(algorithms)})",
        )
    carried = [h for h in _KEY_HEADERS if h in header]
    if carried:
        raise _reject(
            "InvalidToken",
            f"header {carried[0]!r} brings its own key; keys come only from the configured JWKS",
        )
    if "crit" in header:
        raise _reject("UnhandledCriticalHeader", "critical header extensions are not supported")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise _reject("KeyIdMissing", "the token names no key id (kid)")
    return header


def verify_token(
    token: str,
    jwks: JwksSource,
    *,
    audience: str,
    issuer: str,
    algorithms: Iterable[str] = SUPPORTED_ALGS,
    leeway_s: float = DEFAULT_LEEWAY_S,
    max_lifetime_s: int = MAX_TTL_S,
    subject: str | None = None,
    require_scope: bool = True,
) -> VerifiedToken:
    """Verify a scoped token; raises :class:`TokenInvalid` with the reason (and fault code).

    ``require_scope=False`` accepts identity tokens (from an identity-aware
    proxy, say) that carry no ``scope`` or ``jti`` claim; every other check holds.
    """
    allowed = tuple(algorithms)
    if not allowed or any(a not in SUPPORTED_ALGS for a in allowed):
        raise InputError(f"algorithm allow-list {allowed} must be a subset of {SUPPORTED_ALGS}")
    token = token.strip() if isinstance(token, str) else token
    header = _header(token, allowed)
    alg, kid = header["alg"], header["kid"]
    key = _signing_key(jwks, alg, kid)
    expected = _Expected(audience, issuer, subject, leeway_s, require_scope)
    claims = _decode(token, key, alg, kid, expected)
    return _checked(claims, kid, alg, max_lifetime_s, require_scope)


@dataclass(frozen=True)
class _Expected:
    """What the claims must say (``subject`` None: any subject)."""

    audience: str
    issuer: str
    subject: str | None
    leeway_s: float
    require_scope: bool


def _signing_key(jwks: JwksSource, alg: str, kid: str) -> Any:
    """The key ``kid`` names, of the type ``alg`` needs."""
    key = jwks.signing_key(kid)
    if key is None:
        raise _reject("NoMatchingPublicKey", f"key id {kid!r} is not in the {jwks.description}")
    if key.key_type != _KTY[alg] or (key.algorithm_name and key.algorithm_name != alg):
        raise _reject(
            "AlgorithmMismatch", f"key {kid!r} is a {key.key_type} key; the token says {alg}"
        )
    return key


def _decode(token: str, key: Any, alg: str, kid: str, want: _Expected) -> dict[str, Any]:
    """Signature, time and claim checks (PyJWT), each failure as VerifyJWT's fault."""
    try:
        return jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            audience=want.audience,
            issuer=want.issuer,
            subject=want.subject,
            leeway=want.leeway_s,
            options={
                "require": [c for c in REQUIRED_CLAIMS if want.require_scope or c != "jti"],
                "verify_sub": want.subject is not None,
            },
        )
    except jwt.ExpiredSignatureError:
        raise _reject("TokenExpired", "the token has expired") from None
    except jwt.ImmatureSignatureError as exc:
        raise _reject("TokenNotYetValid", f"the token is not valid yet ({exc})") from None
    except jwt.InvalidAudienceError:
        raise _reject("InvalidClaim", f"audience does not match {want.audience!r}") from None
    except jwt.InvalidIssuerError:
        raise _reject("InvalidClaim", f"issuer does not match {want.issuer!r}") from None
    except jwt.exceptions.InvalidSubjectError:
        raise _reject("InvalidClaim", f"subject does not match {want.subject!r}") from None
    except jwt.exceptions.InvalidIssuedAtError:
        raise _reject("InvalidClaim", "iat must be a number") from None
    except jwt.MissingRequiredClaimError as exc:
        raise _reject("InvalidClaim", f"required claim {exc.claim!r} is missing") from None
    except jwt.InvalidSignatureError:
        raise _reject("InvalidToken", f"signature does not verify with key {kid!r}") from None
    except jwt.InvalidTokenError as exc:
        raise _reject("InvalidToken", f"invalid token ({exc})") from None


def _checked(
    claims: dict[str, Any], kid: str, alg: str, max_lifetime_s: int, require_scope: bool = True
) -> VerifiedToken:
    try:
        lifetime = int(claims["exp"]) - int(claims["iat"])
    except (TypeError, ValueError):
        raise _reject("InvalidClaim", "exp and iat must be numbers") from None
    if lifetime > max_lifetime_s:
        raise _reject(
            "InvalidClaim", f"the token lives {lifetime}s; at most {max_lifetime_s}s is accepted"
        )
    scopes = token_scopes(claims, require_scope)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise _reject("InvalidClaim", "the sub claim must be a non-empty string")
    return VerifiedToken(claims=claims, scopes=tuple(scopes), subject=subject, kid=kid, alg=alg)


def _claim_scopes(claims: dict[str, Any], name: str) -> tuple[str, ...] | None:
    """The scope tokens of one claim; None when absent. ``scope`` must be a string;
    ``scp`` may be an array of tokens or a space-separated string."""
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, str):
        items = value.split()
    elif name == "scp" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = list(value)
    else:
        items = []
    if not items:
        shape = (
            "a non-empty space-separated string"
            if name == "scope"
            else "a non-empty array of scope tokens or a space-separated string"
        )
        raise _reject("InvalidClaim", f"the {name} claim must be {shape}")
    if any(not _SCOPE_TOKEN.match(s) for s in items):
        raise _reject("InvalidClaim", f"the {name} claim holds a malformed scope token")
    return tuple(items)


def token_scopes(claims: dict[str, Any], require_scope: bool = True) -> tuple[str, ...]:
    """The scopes a verified token carries, from ``scope`` and/or ``scp``.

    Raises TokenInvalid when neither is present (and ``require_scope``), when
    either is malformed, or when both are present and disagree.
    """
    found = [s for s in (_claim_scopes(claims, n) for n in SCOPE_CLAIMS) if s is not None]
    if not found:
        if require_scope:
            raise _reject("InvalidClaim", "required claim 'scope' is missing (and there is no scp claim)")
        return ()
    if len(found) == 2 and set(found[0]) != set(found[1]):
        raise _reject("InvalidClaim", "the scope and scp claims disagree; refusing the ambiguity")
    return found[0]
