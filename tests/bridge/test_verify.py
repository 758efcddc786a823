"""Reading and verifying the caller's token: one token, from trusted places, cached briefly."""

from __future__ import annotations

import time

import pytest

from copilot.bridge.config import parse_config
from copilot.bridge.verify import CACHE_TTL_S, TokenRefused, Verifier, read_token
from copilot.scopes.keys import JwksSource, load_jwks

from .conftest import AUDIENCE, ISSUER, Keys, mint


class NoKeys(JwksSource):
    description = "empty JWKS"

    def signing_key(self, kid: str) -> None:
        return None


def _verifier(keys: Keys) -> Verifier:
    doc = {"bridge": {"jwks": str(keys.trusted.jwks_path), "issuer": ISSUER, "audience": AUDIENCE,
                      "leeway_s": 0, "route": [{"match": {"scope": "a"}, "namespace": "n", "task_queue": "q"}]}}  # fmt: skip
    return Verifier(parse_config(doc), load_jwks(keys.trusted.jwks_path))


@pytest.mark.parametrize(
    ("authorization", "forwarded", "expected"),
    [
        (["Bearer abc"], [], "abc"),
        ([], ["abc"], "abc"),
        ([], ["Bearer abc"], "abc"),
        (["Bearer abc"], ["abc"], "abc"),
        (["Bearer abc"], ["xyz"], "steps.jwt.InvalidToken"),
        (["Bearer a", "Bearer b"], [], "steps.jwt.InvalidToken"),
        (["Basic dXNlcjpwdw=="], [], "steps.jwt.FailedToResolveVariable"),
        (["Bearer "], [], "steps.jwt.FailedToResolveVariable"),
        ([], [], "steps.jwt.FailedToResolveVariable"),
    ],
)
def test_the_token_comes_from_authorization_or_the_forwarded_header_and_they_agree(
    authorization: list[str], forwarded: list[str], expected: str
) -> None:
    try:
        assert read_token(authorization, forwarded, "X-Atc-Caller-Token") == expected
    except TokenRefused as exc:
        assert exc.code == expected


def test_a_verified_token_is_remembered_briefly_and_only_byte_for_byte(keys: Keys) -> None:
    verifier = _verifier(keys)
    now = time.time()
    token = mint(keys, exp=int(now) + 300)
    assert verifier.claims(token, now)["sub"] == "alice@example.test"
    verifier.jwks = NoKeys()  # the key is gone: only the cache can still answer
    assert verifier.claims(token, now + 1)["sub"] == "alice@example.test"
    with pytest.raises(TokenRefused) as other:
        verifier.claims(mint(keys, exp=int(now) + 300), now + 1)
    assert other.value.code == "steps.jwt.NoMatchingPublicKey"
    with pytest.raises(TokenRefused):
        verifier.claims(token, now + CACHE_TTL_S + 1)


def test_a_cached_token_is_not_honoured_past_its_expiry(keys: Keys) -> None:
    verifier = _verifier(keys)
    now = time.time()
    token = mint(keys, exp=int(now) + 5)
    verifier.claims(token, now)
    verifier.jwks = NoKeys()  # a cache hit would still answer; a miss must verify again
    assert verifier.claims(token, now + 4)["sub"] == "alice@example.test"
    with pytest.raises(TokenRefused) as missed:
        verifier.claims(token, now + 10)
    assert missed.value.code == "steps.jwt.NoMatchingPublicKey"
