"""Scoped JWTs: what verification refuses, and the one token it accepts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from copilot.errors import InputError, TokenInvalid
from copilot.scopes.keys import load_jwks, resolve_key_ref
from copilot.scopes.tokens import MAX_TTL_S, fault_code, mint_token, verify_token

from .conftest import AUDIENCE, ISSUER, Keys


def _mint(key_ref: str, **overrides: object) -> str:
    args: dict = dict(
        issuer=ISSUER, audience=AUDIENCE, subject="wf-refund-42", scopes="orders.read"
    )
    args.update(overrides)
    return mint_token(key_ref, **args)


def _verify(token: str, keys: Keys, **overrides: object):
    args: dict = dict(audience=AUDIENCE, issuer=ISSUER)
    args.update(overrides)
    return verify_token(token, load_jwks(keys.rsa.jwks_path), **args)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**overrides: object) -> dict:
    now = int(time.time())
    claims = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": "wf-1", "scope": "orders.read",
        "iat": now, "nbf": now, "exp": now + 300, "jti": "j1",
    }  # fmt: skip
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(keys: Keys, claims: dict, **headers: object) -> str:
    # Parametrized claims are built when the module is collected, minutes before a long
    # suite reaches them: move their clock to now, keeping every offset as written.
    shift = int(time.time()) - claims["iat"] if isinstance(claims.get("iat"), int) else 0
    claims = {k: v + shift if k in ("iat", "nbf", "exp") else v for k, v in claims.items()}
    key = resolve_key_ref(keys.rsa.ref)
    return jwt.encode(claims, key.key, algorithm="RS256", headers={"kid": key.kid, **headers})


@pytest.mark.parametrize("which", ["rsa", "ec"])
def test_a_good_token_is_accepted_with_its_scopes(keys: Keys, which: str) -> None:
    key = getattr(keys, which)
    token = _mint(key.ref, scopes="orders.write,orders.read")
    verified = _verify(token, keys)
    assert verified.scopes == ("orders.read", "orders.write")
    assert verified.subject == "wf-refund-42"
    assert verified.alg == key.alg and verified.kid == key.kid
    claims = verified.claims
    assert set(claims) == {"iss", "aud", "sub", "scope", "iat", "nbf", "exp", "jti"}
    assert claims["exp"] - claims["iat"] == 300 and claims["nbf"] == claims["iat"]
    assert claims["scope"] == "orders.read orders.write"


def test_each_token_has_a_fresh_jti(keys: Keys) -> None:
    first, second = (_verify(_mint(keys.rsa.ref), keys).claims["jti"] for _ in range(2))
    assert first != second


def test_alg_none_is_refused(keys: Keys) -> None:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": keys.rsa.kid}).encode())
    payload = _b64(json.dumps(_claims()).encode())
    with pytest.raises(TokenInvalid, match="algorithm 'none' is not allowed") as refused:
        _verify(f"{header}.{payload}.", keys)
    assert fault_code(refused.value) == "steps.jwt.AlgorithmMismatch"


def test_hs256_signed_with_the_public_key_is_refused(keys: Keys) -> None:
    # The classic confusion attack: the verifier's public key used as an HMAC secret.
    public_pem = (
        resolve_key_ref(keys.rsa.ref)
        .key.public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": keys.rsa.kid}).encode())
    payload = _b64(json.dumps(_claims()).encode())
    signature = _b64(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    with pytest.raises(TokenInvalid, match="algorithm 'HS256' is not allowed"):
        _verify(f"{header}.{payload}.{signature}", keys)


def test_hmac_cannot_be_put_on_the_allow_list(keys: Keys) -> None:
    with pytest.raises(InputError, match="subset"):
        _verify(_mint(keys.rsa.ref), keys, algorithms=["RS256", "HS256"])


def test_a_token_from_an_untrusted_key_is_refused(keys: Keys) -> None:
    with pytest.raises(TokenInvalid, match="is not in the JWKS") as refused:
        _verify(_mint(keys.stranger.ref), keys)
    assert fault_code(refused.value) == "steps.jwt.NoMatchingPublicKey"


def test_a_kid_pointing_at_a_trusted_key_does_not_lend_its_trust(keys: Keys) -> None:
    stranger = resolve_key_ref(keys.stranger.ref)
    token = jwt.encode(_claims(), stranger.key, algorithm="RS256", headers={"kid": keys.rsa.kid})
    with pytest.raises(TokenInvalid, match="signature does not verify") as refused:
        _verify(token, keys)
    assert fault_code(refused.value) == "steps.jwt.InvalidToken"


def test_a_kid_pointing_at_a_key_of_another_type_is_refused(keys: Keys) -> None:
    stranger = resolve_key_ref(keys.stranger.ref)
    token = jwt.encode(_claims(), stranger.key, algorithm="RS256", headers={"kid": keys.ec.kid})
    with pytest.raises(TokenInvalid, match="is a EC key; the token says RS256"):
        _verify(token, keys)


def test_an_expired_token_is_refused(keys: Keys) -> None:
    token = _mint(keys.rsa.ref, now=time.time() - 3600)
    with pytest.raises(TokenInvalid, match="expired") as refused:
        _verify(token, keys)
    assert fault_code(refused.value) == "steps.jwt.TokenExpired"


def test_leeway_forgives_a_little_clock_skew(keys: Keys) -> None:
    token = _mint(keys.rsa.ref, ttl_s=60, now=time.time() - 60 - 5)
    assert _verify(token, keys, leeway_s=120).subject == "wf-refund-42"
    with pytest.raises(TokenInvalid, match="expired"):
        _verify(token, keys, leeway_s=0)


def test_a_not_yet_valid_token_is_refused(keys: Keys) -> None:
    token = _mint(keys.rsa.ref, now=time.time() + 3600)
    with pytest.raises(TokenInvalid, match="not valid yet") as refused:
        _verify(token, keys)
    assert fault_code(refused.value) == "steps.jwt.TokenNotYetValid"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"audience": "someone-else"}, "audience does not match"),
        ({"issuer": "evil"}, "issuer does not match"),
    ],
)
def test_wrong_audience_or_issuer_is_refused(keys: Keys, overrides: dict, message: str) -> None:
    with pytest.raises(TokenInvalid, match=message) as refused:
        _verify(_mint(keys.rsa.ref), keys, **overrides)
    assert fault_code(refused.value) == "steps.jwt.InvalidClaim"


def test_the_subject_can_be_pinned(keys: Keys) -> None:
    token = _mint(keys.rsa.ref)
    assert _verify(token, keys, subject="wf-refund-42").subject == "wf-refund-42"
    with pytest.raises(TokenInvalid, match="subject does not match"):
        _verify(token, keys, subject="wf-other")


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        (_claims(scope=None), "required claim 'scope' is missing"),
        (_claims(scope=""), "scope claim must be a non-empty"),
        (_claims(scope=["orders.read"]), "scope claim must be a non-empty"),
        (_claims(scope='orders.read "x'), "malformed scope token"),
        (_claims(scope=None, scp=[]), "scp claim must be a non-empty"),
        (_claims(scope=None, scp=["orders.read", 7]), "scp claim must be a non-empty"),
        (_claims(scope=None, scp={"orders.read": True}), "scp claim must be a non-empty"),
        (_claims(scope=None, scp=['orders.read "x']), "malformed scope token"),
        (_claims(scope="orders.read", scp=["payments.refund"]), "scope and scp claims disagree"),
        (_claims(jti=None), "required claim 'jti' is missing"),
        (_claims(sub=None), "required claim 'sub' is missing"),
        (_claims(nbf=None), "required claim 'nbf' is missing"),
        (_claims(exp=int(time.time()) + MAX_TTL_S + 600), "at most 900s"),
    ],
)
def test_missing_or_malformed_claims_are_refused(keys: Keys, claims: dict, message: str) -> None:
    with pytest.raises(TokenInvalid, match=message):
        _verify(_signed(keys, claims), keys)


@pytest.mark.parametrize(
    "claims",
    [
        _claims(scope=None, scp=["orders.write", "orders.read"]),
        _claims(scope=None, scp="orders.write orders.read"),
        _claims(scope="orders.read orders.write", scp=["orders.write", "orders.read"]),
    ],
)
def test_scopes_may_come_as_an_scp_array_or_string(keys: Keys, claims: dict) -> None:
    assert set(_verify(_signed(keys, claims), keys).scopes) == {"orders.read", "orders.write"}


def test_a_token_can_be_minted_with_an_scp_array(keys: Keys) -> None:
    token = _mint(keys.rsa.ref, scopes="orders.write orders.read", scope_claim="scp")
    verified = _verify(token, keys)
    assert "scope" not in verified.claims
    assert verified.claims["scp"] == ["orders.read", "orders.write"]
    assert verified.scopes == ("orders.read", "orders.write")
    with pytest.raises(InputError, match="scope claim 'roles'"):
        _mint(keys.rsa.ref, scope_claim="roles")


def test_a_tampered_payload_is_refused(keys: Keys) -> None:
    header, payload, signature = _mint(keys.rsa.ref).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "orders.read payments.refund"
    forged = _b64(json.dumps(claims).encode())
    with pytest.raises(TokenInvalid, match="signature does not verify"):
        _verify(f"{header}.{forged}.{signature}", keys)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"jku": "https://evil.example/jwks.json"}, "brings its own key"),
        ({"jwk": {"kty": "oct", "k": "AAAA"}}, "brings its own key"),
        ({"x5u": "https://evil.example/cert.pem"}, "brings its own key"),
        ({"crit": ["exp"]}, "critical header"),
    ],
)
def test_headers_that_bring_their_own_key_are_refused(
    keys: Keys, extra: dict, message: str
) -> None:
    with pytest.raises(TokenInvalid, match=message):
        _verify(_signed(keys, _claims(), **extra), keys)


def test_a_token_without_kid_is_refused(keys: Keys) -> None:
    key = resolve_key_ref(keys.rsa.ref)
    token = jwt.encode(_claims(), key.key, algorithm="RS256")
    with pytest.raises(TokenInvalid, match="no key id") as refused:
        _verify(token, keys)
    assert fault_code(refused.value) == "steps.jwt.KeyIdMissing"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b", "a.b.c.d", "!!!.@@@.###"])
def test_garbage_is_refused_as_undecodable(keys: Keys, garbage: str) -> None:
    with pytest.raises(TokenInvalid) as refused:
        _verify(garbage, keys)
    assert fault_code(refused.value) == "steps.jwt.FailedToDecode"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ttl_s": MAX_TTL_S + 1}, "outside 1..900s"),
        ({"ttl_s": 0}, "outside"),
        ({"scopes": ""}, "at least one scope"),
        ({"scopes": ["bad scope\x01"]}, "not a valid scope token"),
        ({"subject": " "}, "non-empty subject"),
        ({"audience": ""}, "non-empty audience"),
    ],
)
def test_minting_refuses_long_lived_or_unscoped_tokens(
    keys: Keys, overrides: dict, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        _mint(keys.rsa.ref, **overrides)
