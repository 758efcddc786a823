"""Who decided: a verified reviewer from a signed header, else an unverified name."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

from copilot.config import Settings
from copilot.drafting.review import Reviewer, decide, reviewer_from_headers
from copilot.drafting.store import DraftStore
from copilot.errors import ConfigError, PolicyDenied, TokenInvalid
from copilot.scopes import DEFAULT_PRODUCTS
from copilot.scopes.keys import generate_keypair, resolve_key_ref
from tests.drafting.test_store import SCOPES, _version

HEADER = "X-Goog-Iap-Jwt-Assertion"


@pytest.fixture
def identity(tmp_path: Path) -> tuple[Settings, object]:
    key = generate_keypair(tmp_path / "idp")
    settings = Settings(
        data_dir=tmp_path / "data",
        reviewer_header=HEADER,
        reviewer_jwks=str(key.jwks_path),
        reviewer_audience="atc-dashboard",
        reviewer_issuer="https://idp.example",
        reviewer_claim="email",
    )
    return settings, resolve_key_ref(key.ref)


def _token(signing: object, **claims: object) -> str:
    now = int(time.time())
    body = {
        "iss": "https://idp.example",
        "aud": "atc-dashboard",
        "sub": "10769150350006150715113082367",
        "email": "alice@example.com",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        **claims,
    }
    return jwt.encode(body, signing.key, algorithm=signing.alg, headers={"kid": signing.kid})  # type: ignore[attr-defined]


def test_a_signed_identity_header_gives_a_verified_reviewer(identity) -> None:
    settings, signing = identity
    reviewer = reviewer_from_headers({HEADER.lower(): _token(signing)}, settings)
    assert reviewer == Reviewer(
        "alice@example.com", True, "10769150350006150715113082367", "https://idp.example"
    )
    bearer = reviewer_from_headers({HEADER: "Bearer " + _token(signing)}, settings)
    assert bearer is not None and bearer.verified


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "someone-else"}, "audience"),
        ({"iss": "https://evil.example"}, "issuer"),
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"email": ""}, "'email' claim"),
    ],
)
def test_a_bad_identity_token_is_refused_with_its_reason(identity, claims, reason) -> None:
    settings, signing = identity
    with pytest.raises(TokenInvalid, match=reason):
        reviewer_from_headers({HEADER: _token(signing, **claims)}, settings)


def test_a_forged_signature_is_refused(identity, tmp_path: Path) -> None:
    settings, _ = identity
    forger = resolve_key_ref(generate_keypair(tmp_path / "forger").ref)
    with pytest.raises(TokenInvalid):
        reviewer_from_headers({HEADER: _token(forger)}, settings)


def test_without_a_configured_header_there_is_no_verified_reviewer(tmp_path: Path) -> None:
    assert reviewer_from_headers({HEADER: "anything"}, Settings(data_dir=tmp_path)) is None
    half = Settings(data_dir=tmp_path, reviewer_header=HEADER)
    with pytest.raises(ConfigError, match="ATC_REVIEWER_JWKS"):
        reviewer_from_headers({HEADER: "x.y.z"}, half)


def test_the_audit_trail_records_verified_and_unverified_deciders(identity) -> None:
    settings, signing = identity
    store = DraftStore.in_data_dir(settings.data_dir)
    first = store.create("r", SCOPES, str(DEFAULT_PRODUCTS), _version(), "bob")
    second = store.create("r", SCOPES, str(DEFAULT_PRODUCTS), _version(), "bob")
    verified = reviewer_from_headers({HEADER: _token(signing)}, settings)
    for draft_id, who in ((first, verified), (second, Reviewer("mallory"))):
        state = store.state(draft_id)
        decide(draft_id, "approve", version=state.version, spec_hash=state.spec_hash,
               reviewer=who, settings=settings)  # fmt: skip
    rows = [store.get(d)["audit"][-1] for d in (first, second)]
    assert [(r["actor"], r["verified"]) for r in rows] == [
        ("alice@example.com", True),
        ("mallory", False),
    ]
    with pytest.raises(PolicyDenied, match="already approved by alice@example.com"):
        decide(first, "reject", version=1, spec_hash=store.state(first).spec_hash,
               reviewer=Reviewer("mallory"), settings=settings)  # fmt: skip
