"""Signing keys by reference, RFC 7638 key ids, and JWKS from files and URLs."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from copilot.errors import ConfigError, ExternalError, InputError
from copilot.scopes.keys import (
    JwksFile,
    JwksUrl,
    ensure_keypair,
    generate_keypair,
    load_jwks,
    public_jwk,
    resolve_key_ref,
)
from copilot.scopes.server import BackgroundServer

from .conftest import Keys


def _b64int(text: str) -> int:
    import base64

    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def test_key_ids_are_rfc7638_thumbprints() -> None:
    # RFC 7638 section 3.1: this RSA key's thumbprint.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRX"
        "jBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAta"
        "Sqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksI"
        "NHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    key = rsa.RSAPublicNumbers(e=65537, n=_b64int(n)).public_key()
    assert public_jwk(key)["kid"] == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_generated_keys_are_private_and_listed_in_the_jwks(tmp_path: Path) -> None:
    made = generate_keypair(tmp_path, "ES256")
    assert stat.S_IMODE(made.private_path.stat().st_mode) == 0o600
    (jwk,) = json.loads(made.jwks_path.read_text())["keys"]
    assert jwk["kid"] == made.kid and jwk["alg"] == "ES256" and "d" not in jwk
    assert made.ref == f"file:{made.private_path.resolve()}"


def test_a_second_key_rotates_into_the_same_jwks(tmp_path: Path) -> None:
    first = generate_keypair(tmp_path, "RS256")
    second = generate_keypair(tmp_path, "ES256")
    kids = [k["kid"] for k in json.loads(second.jwks_path.read_text())["keys"]]
    assert kids == [first.kid, second.kid]


def test_ensure_keypair_reuses_a_key_of_the_same_algorithm(tmp_path: Path) -> None:
    made = ensure_keypair(tmp_path, "RS256")
    assert ensure_keypair(tmp_path, "RS256").kid == made.kid
    assert ensure_keypair(tmp_path, "ES256").kid != made.kid


def test_key_references_resolve_from_files_and_environment(keys: Keys) -> None:
    from_file = resolve_key_ref(keys.rsa.ref)
    bare = resolve_key_ref(str(keys.rsa.private_path))
    pem = keys.ec.private_path.read_text()
    from_env = resolve_key_ref("env:ATC_TEST_KEY", env={"ATC_TEST_KEY": pem})
    assert from_file.kid == bare.kid == keys.rsa.kid and from_file.alg == "RS256"
    assert from_env.kid == keys.ec.kid and from_env.alg == "ES256"


def test_a_key_can_be_named_by_its_id_in_the_key_directory(keys: Keys) -> None:
    folder = str(keys.rsa.private_path.parent)
    found = resolve_key_ref(f"kid:{keys.ec.kid}", env={"ATC_KEYS_DIR": folder})
    assert (found.kid, found.alg) == (keys.ec.kid, "ES256")
    with pytest.raises(ConfigError, match="no private key with that id"):
        resolve_key_ref(f"kid:{keys.stranger.kid}", env={"ATC_KEYS_DIR": folder})


def _pem(key: object) -> bytes:
    return key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.mark.parametrize(
    ("ref", "env", "message"),
    [
        ("", {}, "no signing key reference"),
        ("env:ABSENT", {}, "is not set"),
        ("https://keys.example/key.pem", {}, "only file:, env: and kid:"),
        ("file:/nonexistent/key.pem", {}, "cannot read"),
        ("env:NOT_PEM", {"NOT_PEM": "hello"}, "not an unencrypted PEM private key"),
        (
            "env:SMALL",
            {"SMALL": _pem(rsa.generate_private_key(65537, 1024)).decode()},
            "at least 2048",
        ),
        ("env:P384", {"P384": _pem(ec.generate_private_key(ec.SECP384R1())).decode()}, "P-256"),
    ],
)
def test_bad_key_references_are_one_readable_error(ref: str, env: dict, message: str) -> None:
    with pytest.raises((ConfigError, InputError)) as refused:
        resolve_key_ref(ref, env=env)
    assert message in refused.value.message


def test_a_jwks_file_is_reread_when_it_changes(tmp_path: Path) -> None:
    first = generate_keypair(tmp_path, "RS256")
    jwks = JwksFile(first.jwks_path)
    assert jwks.signing_key(first.kid) is not None
    second = generate_keypair(tmp_path, "ES256")
    os.utime(second.jwks_path, (1, 1))  # a different mtime even on coarse clocks
    assert jwks.signing_key(second.kid) is not None
    assert jwks.signing_key("nope") is None


@pytest.mark.parametrize(
    ("content", "message"), [("{", "not a usable JWKS"), ('{"keys": 3}', "not a usable JWKS")]
)
def test_broken_jwks_files_are_configuration_errors(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        JwksFile(path)
    with pytest.raises(ConfigError, match="cannot read"):
        JwksFile(tmp_path / "absent.json")


def test_a_jwks_url_is_fetched_over_http_and_cached(keys: Keys) -> None:
    document = json.loads(keys.rsa.jwks_path.read_text())
    fetches: list[str] = []

    async def serve(request: Request) -> JSONResponse:
        fetches.append(request.url.path)
        return JSONResponse(document)

    app = Starlette(routes=[Route("/.well-known/jwks.json", serve)])
    with BackgroundServer(app) as server:
        jwks = load_jwks(f"{server.url}/.well-known/jwks.json")
        assert isinstance(jwks, JwksUrl)
        assert jwks.signing_key(keys.rsa.kid) is not None
        assert jwks.signing_key(keys.ec.kid) is not None
        assert len(fetches) == 1  # the key set is cached
        assert jwks.signing_key("unknown-kid") is None


def test_an_unreachable_jwks_url_is_an_external_error() -> None:
    with BackgroundServer(Starlette()) as server:
        url = f"{server.url}/jwks.json"
    with pytest.raises(ExternalError, match="unreachable"):
        JwksUrl(url, timeout_s=2).signing_key("kid")
    with pytest.raises(ConfigError, match="must be http"):
        JwksUrl("ftp://x/jwks.json")
