"""Signing keys by reference, public keys from a JWKS, and demo key generation.

Workflows carry a key *reference*, never key material (docs/architecture.md, 'Secrets
never in payloads'): ``file:/path/key.pem`` (or a bare path), ``env:VAR_NAME`` (the
variable holds the PEM) or ``kid:KEY_ID`` (a key of the local key directory). The
activity resolves the reference and mints the token. Key ids are RFC 7638 JWK
thumbprints of the public key, so the JWKS written beside a key and any token signed
with it agree without configuration.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt import PyJWK, PyJWKClient, PyJWKSet

from copilot.errors import ConfigError, ExternalError, InputError

SUPPORTED_ALGS = ("RS256", "ES256")
KEYS_DIR = Path(".atc") / "keys"  # where kid: references look unless ATC_KEYS_DIR says otherwise
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class SigningKey:
    """A private key resolved from a reference, with its algorithm and key id."""

    key: PrivateKey
    alg: str
    kid: str


@dataclass(frozen=True)
class GeneratedKey:
    """Where :func:`generate_keypair` put things."""

    private_path: Path
    jwks_path: Path
    kid: str
    alg: str

    @property
    def ref(self) -> str:
        """The key reference to hand to workflows and ``atc token mint --key``."""
        return f"file:{self.private_path.resolve()}"


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_jwk(public_key: Any, alg: str | None = None) -> dict[str, str]:
    """The public JWK of an RSA or P-256 key, with ``kid`` = its RFC 7638 thumbprint."""
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        core = {"e": _b64(numbers.e), "kty": "RSA", "n": _b64(numbers.n)}
        alg = alg or "RS256"
    elif isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name == "secp256r1":
        numbers = public_key.public_numbers()
        core = {"crv": "P-256", "kty": "EC", "x": _pad_coord(numbers.x), "y": _pad_coord(numbers.y)}
        alg = alg or "ES256"
    else:
        raise InputError("only RSA and EC P-256 keys are supported (RS256, ES256)")
    canonical = json.dumps(core, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    return {**core, "kid": kid, "alg": alg, "use": "sig"}


def _pad_coord(value: int) -> str:
    # RFC 7518 6.2.1.2: P-256 coordinates are always 32 bytes, leading zeros kept.
    return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode("ascii")


def signing_key_from_pem(pem: bytes, where: str) -> SigningKey:
    """Parse a PEM private key; RSA must be >= 2048 bits, EC must be P-256."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{where}: not an unencrypted PEM private key ({exc})") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise InputError(f"{where}: RSA key of {key.key_size} bits; at least 2048 required")
        alg = "RS256"
    elif isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
        alg = "ES256"
    else:
        raise InputError(f"{where}: only RSA (RS256) and EC P-256 (ES256) keys are supported")
    return SigningKey(key=key, alg=alg, kid=public_jwk(key.public_key(), alg)["kid"])


def resolve_key_ref(ref: str, env: dict[str, str] | None = None) -> SigningKey:
    """Resolve ``file:PATH``, ``env:NAME``, ``kid:KEY_ID`` or a bare path to a signing key.

    ``kid:`` looks for the private key with that id among the ``private-*.pem``
    files of the directory named by ``ATC_KEYS_DIR`` (default ``.atc/keys``).
    """
    env = dict(os.environ) if env is None else env
    if not isinstance(ref, str) or not ref.strip():
        raise ConfigError("no signing key reference given")
    if ref.startswith("kid:"):
        return _by_kid(ref[4:], Path(env.get("ATC_KEYS_DIR") or KEYS_DIR))
    if ref.startswith("env:"):
        name = ref[4:]
        if not env.get(name):
            raise ConfigError(f"key reference {ref!r}: environment variable {name} is not set")
        return signing_key_from_pem(env[name].encode(), f"environment variable {name}")
    if "://" in ref:
        raise ConfigError(f"key reference {ref!r}: only file:, env: and kid: are supported")
    path = Path(ref[5:] if ref.startswith("file:") else ref)
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"key reference {ref!r}: cannot read {path} ({exc.strerror})") from None
    return signing_key_from_pem(pem, str(path))


def _by_kid(kid: str, folder: Path) -> SigningKey:
    for pem_path in sorted(folder.glob("private-*.pem")) if folder.is_dir() else []:
        key = signing_key_from_pem(pem_path.read_bytes(), str(pem_path))
        if key.kid == kid:
            return key
    raise ConfigError(f"key reference 'kid:{kid}': no private key with that id in {folder}")


def generate_keypair(directory: str | Path, alg: str = "RS256") -> GeneratedKey:
    """Create a demo/test key pair: ``private-<kid>.pem`` (mode 0600) and ``jwks.json``.

    An existing ``jwks.json`` keeps its keys and gains the new one (rotation).
    """
    if alg not in SUPPORTED_ALGS:
        raise InputError(f"algorithm {alg!r} is not supported; use one of {SUPPORTED_ALGS}")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    if alg == "RS256":
        key: PrivateKey = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    jwk = public_jwk(key.public_key(), alg)
    private_path = folder / f"private-{jwk['kid'][:16]}.pem"
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    jwks_path = folder / "jwks.json"
    keys = json.loads(jwks_path.read_text(encoding="utf-8"))["keys"] if jwks_path.exists() else []
    keys = [k for k in keys if k.get("kid") != jwk["kid"]] + [jwk]
    jwks_path.write_text(json.dumps({"keys": keys}, indent=2) + "\n", encoding="utf-8")
    return GeneratedKey(private_path, jwks_path, jwk["kid"], alg)


def ensure_keypair(directory: str | Path, alg: str = "RS256") -> GeneratedKey:
    """Reuse the first key of ``alg`` in ``directory``, or generate one (demos)."""
    folder = Path(directory)
    jwks_path = folder / "jwks.json"
    for pem_path in sorted(folder.glob("private-*.pem")) if folder.is_dir() else []:
        key = signing_key_from_pem(pem_path.read_bytes(), str(pem_path))
        if key.alg == alg and jwks_path.exists() and key.kid in jwks_path.read_text():
            return GeneratedKey(pem_path, jwks_path, key.kid, alg)
    return generate_keypair(folder, alg)


class JwksSource:
    """Public keys by key id, from a JWKS file or URL."""

    description = "JWKS"

    def signing_key(self, kid: str) -> PyJWK | None:
        """The key with this id, or None when the JWKS has no such key."""
        raise NotImplementedError


class JwksFile(JwksSource):
    """A JWKS file, re-read when it changes on disk (key rotation without restarts)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.description = f"JWKS file {self.path}"
        self._lock = threading.Lock()
        self._stamp: tuple[float, int] | None = None
        self._keys: dict[str, PyJWK] = {}
        self._load()

    def _load(self) -> None:
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime, stat.st_size)
            if stamp == self._stamp:
                return
            data = json.loads(self.path.read_text(encoding="utf-8"))
            keyset = PyJWKSet.from_dict(data)
        except OSError as exc:
            raise ConfigError(f"{self.description}: cannot read it ({exc.strerror})") from None
        except (ValueError, jwt.PyJWKSetError, jwt.PyJWKError) as exc:
            raise ConfigError(f"{self.description}: not a usable JWKS ({exc})") from None
        self._keys = {k.key_id: k for k in keyset.keys if k.key_id}
        self._stamp = stamp

    def signing_key(self, kid: str) -> PyJWK | None:
        with self._lock:
            self._load()
            return self._keys.get(kid)


class JwksUrl(JwksSource):
    """A JWKS URL via :class:`jwt.PyJWKClient`.

    The client caches the key set for ``lifespan_s`` and refetches when a
    token names a key id it has not seen (rotation), at most once per
    cooldown, so tokens with made-up key ids cannot hammer the JWKS endpoint.
    """

    def __init__(self, url: str, *, lifespan_s: float = 300, timeout_s: float = 5) -> None:
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"JWKS URL {url!r} must be http(s)")
        self.url = url
        self.description = f"JWKS URL {url}"
        self._client = PyJWKClient(url, cache_jwk_set=True, lifespan=lifespan_s, timeout=timeout_s)

    def signing_key(self, kid: str) -> PyJWK | None:
        try:
            key = self._client.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as exc:
            raise ExternalError(f"{self.description} is unreachable: {exc}") from None
        except jwt.PyJWKClientError:
            return None
        return key


def load_jwks(ref: str | Path) -> JwksSource:
    """A JWKS source from a file path or an http(s) URL."""
    text = str(ref)
    if text.startswith(("https://", "http://")):
        return JwksUrl(text)
    return JwksFile(text)
