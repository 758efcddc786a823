"""`atc token keygen|mint|verify`: exit 0 valid, 3 invalid with the reason, 2 bad input."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from copilot.scopes.tokens import mint_token
from tests.cli import run_cli


@pytest.fixture
def key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> dict:
    code, out, _ = run_cli(capsys, "token", "keygen", "--out", str(tmp_path / "keys"), "--json")
    assert code == 0
    return json.loads(out)


def test_keygen_mint_verify_round_trip(capsys: pytest.CaptureFixture[str], key: dict) -> None:
    code, token, _ = run_cli(
        capsys, "token", "mint", "--key", key["key"], "--subject", "wf-1",
        "--scopes", "orders.read,payments.refund", "--audience", "gw", "--issuer", "atc",
    )  # fmt: skip
    assert code == 0 and token.count(".") == 2
    code, out, _ = run_cli(
        capsys, "token", "verify", token.strip(), "--jwks", key["jwks"], "--audience", "gw", "--issuer", "atc", "--json"
    )  # fmt: skip
    doc = json.loads(out)
    assert code == 0 and doc["ok"] is True and doc["valid"] is True
    assert doc["scopes"] == ["orders.read", "payments.refund"] and doc["subject"] == "wf-1"
    assert doc["claims"]["exp"] - doc["claims"]["iat"] == 300 and doc["kid"] == key["kid"]


def test_verify_prints_the_claims_in_text(capsys: pytest.CaptureFixture[str], key: dict) -> None:
    token = mint_token(
        key["key"], issuer="atc", audience="gw", subject="wf-2", scopes="orders.read"
    )
    code, out, _ = run_cli(
        capsys,
        "token",
        "verify",
        token,
        "--jwks",
        key["jwks"],
        "--audience",
        "gw",
        "--issuer",
        "atc",
    )
    assert code == 0
    assert out.startswith("valid: subject=wf-2 scopes=orders.read")
    assert "  scope: orders.read" in out


def test_verify_reads_the_token_from_stdin(
    capsys: pytest.CaptureFixture[str], key: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = mint_token(key["key"], issuer="atc", audience="gw", subject="wf-3", scopes="a")
    monkeypatch.setattr("sys.stdin", io.StringIO(token + "\n"))
    code, out, _ = run_cli(
        capsys, "token", "verify", "-", "--jwks", key["jwks"], "--audience", "gw", "--issuer", "atc"
    )
    assert code == 0 and "subject=wf-3" in out


@pytest.mark.parametrize(
    ("mint", "verify", "reason", "fault"),
    [
        ({}, {"--audience": "other"}, "audience does not match", "steps.jwt.InvalidClaim"),
        ({}, {"--issuer": "other"}, "issuer does not match", "steps.jwt.InvalidClaim"),
        ({"now": time.time() - 7200}, {}, "expired", "steps.jwt.TokenExpired"),
        ({"now": time.time() + 7200}, {}, "not valid yet", "steps.jwt.TokenNotYetValid"),
    ],
)
def test_an_invalid_token_exits_3_with_the_reason(
    capsys: pytest.CaptureFixture[str], key: dict, mint: dict, verify: dict, reason: str, fault: str
) -> None:
    token = mint_token(key["key"], issuer="atc", audience="gw", subject="wf", scopes="a", **mint)
    options = {"--jwks": key["jwks"], "--audience": "gw", "--issuer": "atc", **verify}
    argv = ["token", "verify", token, *[x for pair in options.items() for x in pair]]
    code, out, _ = run_cli(capsys, *argv, "--json")
    doc = json.loads(out)
    assert code == 3
    assert doc["ok"] is False and doc["valid"] is False and reason in doc["reason"]
    assert doc["error"] == f"TokenInvalid: {doc['reason']}" and doc["fault_code"] == fault
    code, out, err = run_cli(capsys, *argv)
    assert code == 3 and out == "" and err.startswith("TokenInvalid: ")


def test_garbage_exits_3(capsys: pytest.CaptureFixture[str], key: dict) -> None:
    code, _, err = run_cli(
        capsys,
        "token",
        "verify",
        "not-a-jwt",
        "--jwks",
        key["jwks"],
        "--audience",
        "a",
        "--issuer",
        "b",
    )
    assert code == 3 and "TokenInvalid: not a JWT" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["token", "mint", "--key", "env:ATC_NO_SUCH_VAR", "--subject", "s", "--scopes", "a"],
            "is not set",
        ),
        (
            ["token", "mint", "--key", "file:/nonexistent.pem", "--subject", "s", "--scopes", "a"],
            "cannot read",
        ),
        (
            [
                "token",
                "verify",
                "a.b.c",
                "--jwks",
                "/nonexistent.json",
                "--audience",
                "a",
                "--issuer",
                "b",
            ],
            "cannot read",
        ),
        (["token", "verify", "a.b.c", "--audience", "a", "--issuer", "b"], "required: --jwks"),
        (["token", "keygen", "--out", "x", "--alg", "HS256"], "invalid choice"),
        (["token"], "choose an action"),
    ],
)
def test_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_minting_a_long_lived_token_exits_2(capsys: pytest.CaptureFixture[str], key: dict) -> None:
    code, _, err = run_cli(
        capsys, "token", "mint", "--key", key["key"], "--subject", "s", "--scopes", "a", "--ttl", "3600"
    )  # fmt: skip
    assert code == 2 and "outside 1..900s" in err
