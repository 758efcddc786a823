"""``atc token keygen|mint|verify``: short-lived scoped JWTs.

Keys are named by reference (``file:PATH`` or ``env:VAR``), never pasted.
``verify`` exits 0 with the claims when the token is valid, 3 with the
reason when it is not, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from copilot.commands._args import action_parsers, add_json_flag, add_token_claims
from copilot.commands._output import emit_json
from copilot.errors import TokenInvalid, UsageError
from copilot.scopes.keys import SUPPORTED_ALGS, generate_keypair, load_jwks, resolve_key_ref
from copilot.scopes.tokens import (
    DEFAULT_LEEWAY_S,
    DEFAULT_TTL_S,
    MAX_TTL_S,
    fault_code,
    mint_token,
    verify_token,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    actions = action_parsers(subparsers, "token", "mint and verify short-lived scoped JWTs")
    keygen = actions.add_parser("keygen", help="create a demo/test signing key and JWKS")
    keygen.add_argument(
        "--out", required=True, type=Path, help="directory for the key and jwks.json"
    )
    keygen.add_argument("--alg", default="RS256", choices=list(SUPPORTED_ALGS))
    add_json_flag(keygen)
    keygen.set_defaults(func=_keygen)

    mint = actions.add_parser("mint", help="sign a scoped token for a workflow identity")
    mint.add_argument("--key", required=True, help="key reference: file:PATH, env:VAR or kid:ID")
    mint.add_argument("--subject", required=True, help="the workflow identity (sub)")
    mint.add_argument("--scopes", required=True, help="approved scopes, comma-separated")
    add_token_claims(mint)
    mint.add_argument(
        "--ttl", type=int, default=DEFAULT_TTL_S, help=f"seconds, at most {MAX_TTL_S}"
    )
    add_json_flag(mint)
    mint.set_defaults(func=_mint)

    verify = actions.add_parser("verify", help="verify a token (exit 0 valid, 3 invalid)")
    verify.add_argument("token", metavar="TOKEN", help="the JWT, or - to read it from stdin")
    verify.add_argument("--jwks", required=True, help="JWKS file or http(s) URL")
    add_token_claims(verify, required=True)
    verify.add_argument("--leeway", type=float, default=DEFAULT_LEEWAY_S, help="seconds")
    add_json_flag(verify)
    verify.set_defaults(func=_verify)


def _keygen(args: argparse.Namespace) -> int:
    key = generate_keypair(args.out, args.alg)
    payload = {
        "ok": True,
        "key": key.ref,
        "jwks": str(key.jwks_path),
        "kid": key.kid,
        "alg": key.alg,
    }
    if args.json:
        emit_json(payload)
    else:
        print(f"key reference: {key.ref}\njwks: {key.jwks_path}\nkid: {key.kid} ({key.alg})")
    return 0


def _mint(args: argparse.Namespace) -> int:
    signing = resolve_key_ref(args.key)
    token = mint_token(
        signing,
        issuer=args.issuer,
        audience=args.audience,
        subject=args.subject,
        scopes=args.scopes,
        ttl_s=args.ttl,
    )
    if args.json:
        emit_json(
            {"ok": True, "token": token, "kid": signing.kid, "alg": signing.alg, "ttl_s": args.ttl}
        )
    else:
        print(token)
    return 0


def _verify(args: argparse.Namespace) -> int:
    token = sys.stdin.read().strip() if args.token == "-" else args.token
    if not token:
        raise UsageError("no token given")
    jwks = load_jwks(args.jwks)
    try:
        verified = verify_token(
            token, jwks, audience=args.audience, issuer=args.issuer, leeway_s=args.leeway
        )
    except TokenInvalid as exc:
        if args.json:
            emit_json(
                {
                    "ok": False,
                    "error": exc.line(),
                    "valid": False,
                    "reason": exc.message,
                    "fault_code": fault_code(exc),
                }
            )
            return TokenInvalid.exit_code
        raise
    expires = datetime.fromtimestamp(verified.expires_at, UTC).isoformat()
    payload = {
        "ok": True,
        "valid": True,
        "subject": verified.subject,
        "scopes": list(verified.scopes),
        "kid": verified.kid,
        "alg": verified.alg,
        "expires_at": expires,
        "claims": verified.claims,
    }
    if args.json:
        emit_json(payload)
    else:
        print(f"valid: subject={verified.subject} scopes={' '.join(verified.scopes)}")
        print(f"key: {verified.kid} ({verified.alg}); expires {expires}")
        for name, value in sorted(verified.claims.items()):
            print(f"  {name}: {value}")
    return 0
