"""`atc scopes check|list|artifacts` and `atc gateway serve`: exit codes and output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from copilot.scopes.keys import generate_keypair
from copilot.scopes.tokens import mint_token
from tests.cli import run_cli
from tests.paths import ROOT


def test_an_allowed_request_exits_0_and_names_the_operation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(
        capsys, "scopes", "check", "--scopes", "orders.read", "GET", "/v1/orders/42"
    )
    assert code == 0
    assert "allowed: GET /v1/orders/42 is granted by scope orders.read" in out
    assert "operation: orders.get" in out


def test_a_denied_request_exits_3_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        capsys, "scopes", "check", "--scopes", "orders.read", "PATCH", "/v1/orders/42"
    )
    assert code == 3 and out == ""
    assert err.strip().splitlines() == [
        "ScopeDenied: method PATCH is not granted on /v1/orders/42; the granted scopes allow "
        "only GET there; PATCH there needs scope orders.write"
    ]


def test_a_denial_in_json_carries_the_reason_and_the_decision(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(
        capsys, "scopes", "check", "--json", "--scopes", "orders.read,catalog.read",
        "GET", "/v1/orders/%2e%2e/payments/1",
    )  # fmt: skip
    doc = json.loads(out)
    assert code == 3
    assert doc["ok"] is False and doc["allowed"] is False
    assert doc["error"] == f"ScopeDenied: {doc['reason']}"
    assert "percent-encoded dot" in doc["reason"]
    assert doc["scopes"] == ["catalog.read", "orders.read"]


def test_an_allowed_request_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys, "scopes", "check", "--json", "--scopes", "payments.refund",
        "--gateway", "https://api.shop.example",
        "POST", "https://api.shop.example/v1/payments/pay_1/refund",
    )  # fmt: skip
    doc = json.loads(out)
    assert code == 0 and doc["ok"] is True and doc["error"] is None
    assert (doc["allowed"], doc["scope"], doc["operation"]) == (
        True,
        "payments.refund",
        "payments.refund",
    )


def test_override_headers_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(
        capsys, "scopes", "check", "--scopes", "orders.read",
        "--header", "X-HTTP-Method-Override: DELETE", "GET", "/v1/orders/1",
    )  # fmt: skip
    assert code == 3 and "overrides the HTTP method" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["scopes", "check", "--scopes", "orders.reed", "GET", "/v1/orders/1"],
            "no API product in",
        ),
        (["scopes", "check", "--scopes", "", "GET", "/v1/orders/1"], "needs at least one scope"),
        (["scopes", "check", "--scopes", "orders.read", "GET"], "required: URL"),
        (
            ["scopes", "check", "--scopes", "orders.read", "--header", "nocolon", "GET", "/"],
            "'Name: value'",
        ),
        (
            ["scopes", "check", "--products", "/nonexistent.json", "--scopes", "a", "GET", "/"],
            "no such file",
        ),
        (["scopes"], "choose an action"),
        (["scopes", "list", "--scopes", "nope"], "no API product in"),
    ],
)
def test_bad_input_exits_2_with_one_readable_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in err


def test_a_malformed_product_file_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "products.json"
    bad.write_text('{"apiProduct": [{"name": "only-a-name"}]}')
    code, out, _ = run_cli(
        capsys, "scopes", "check", "--json", "--products", str(bad), "--scopes", "a", "GET", "/"
    )
    assert code == 2
    assert json.loads(out) == {
        "ok": False,
        "error": "ProductsError: product 'only-a-name' carries only its name; list products with ?expand=true",
    }


def test_list_shows_the_operations_a_scope_set_allows(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        capsys, "scopes", "list", "--scopes", "fulfilment.write,notifications.send"
    )
    assert code == 0
    assert "fulfilment.create_shipment" in out and "notifications.send_sms" in out
    assert "orders.get" not in out
    assert "4 operation(s)" in out
    assert "finding: product 'catalog' uses legacy apiResources" in err


def test_list_in_json_has_every_operation_and_the_findings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(capsys, "scopes", "list", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] is True
    assert len(doc["operations"]) == 19
    first = doc["operations"][0]
    assert {"id", "proxy", "method", "path_template", "full_template", "scopes"} <= set(first)
    assert doc["findings"]


def test_artifacts_are_written(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run_cli(
        capsys, "scopes", "artifacts", "--json", "--scopes", "orders.read",
        "--identity", "wf-1", "--out", str(tmp_path), "--jwks-uri", "https://idp.example/jwks",
        "--operation", "orders.get",
    )  # fmt: skip
    doc = json.loads(out)
    assert code == 0 and doc["operations"] == ["orders.get"]
    assert Path(doc["product_file"]).exists()
    assert (Path(doc["bundles"]["orders"]) / "proxies" / "default.xml").exists()


def test_artifacts_report_locks_and_take_environments_target_servers_and_token_kind(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run_cli(
        capsys, "scopes", "artifacts", "--json", "--scopes", "orders.read", "--identity", "wf-1",
        "--out", str(tmp_path), "--token-kind", "apigee", "--env", "test", "--env", "prod",
        "--target-server", "orders=orders-ts",
    )  # fmt: skip
    doc = json.loads(out)
    assert code == 0 and doc["token_kind"] == "apigee" and doc["environments"] == ["prod", "test"]
    assert "proxy flow condition" in doc["locks"]["orders.list"]
    assert doc["locks"]["orders.get"] == "product resource /* exact"
    bundle = Path(doc["bundles"]["orders"])
    assert (bundle / "policies" / "OA-VerifyAccessToken.xml").exists()
    assert 'name="orders-ts"' in (bundle / "targets" / "default.xml").read_text()
    code, out, _ = run_cli(
        capsys, "scopes", "artifacts", "--scopes", "orders.read", "--identity", "wf-1",
        "--out", str(tmp_path / "text"), "--jwks-uri", "https://idp.example/jwks",
    )  # fmt: skip
    assert code == 0 and "product resource / (GET on every path of orders)" in out
    code, _, err = run_cli(
        capsys, "scopes", "artifacts", "--scopes", "orders.read", "--identity", "wf-1",
        "--out", str(tmp_path / "x"),
    )  # fmt: skip
    assert code == 2 and "--jwks-uri is needed" in err


def test_list_shows_every_grant_check_allows(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "scopes", "list", "--json", "--scopes", "catalog.read")
    grants = json.loads(out)["grants"]
    assert code == 0
    assert {(g["path"], tuple(g["methods"])) for g in grants} == {
        ("/products", ("GET",)), ("/products/{sku}", ("GET",)), ("/search", ("GET",)),
    }  # fmt: skip
    assert all(g["origin"].startswith("apiResources") for g in grants)


def test_artifacts_for_an_ungranted_operation_exit_3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run_cli(
        capsys, "scopes", "artifacts", "--scopes", "orders.read", "--identity", "wf-1",
        "--out", str(tmp_path), "--jwks-uri", "https://idp.example/jwks", "--operation", "orders.cancel",
    )  # fmt: skip
    assert code == 3 and "ScopeDenied: operation orders.cancel" in err


@pytest.mark.slow
def test_gateway_serve_runs_the_emulator_on_loopback(tmp_path: Path) -> None:
    key = generate_keypair(tmp_path, "ES256")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "copilot.cli", "gateway", "serve", "--jwks", str(key.jwks_path),
         "--port", "0", "--issuer", "iss-1", "--audience", "aud-1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "atc gateway emulator listening on http://127.0.0.1:" in line, line
        url = line.split("listening on ")[1].split()[0]
        token = mint_token(
            key.ref, issuer="iss-1", audience="aud-1", subject="wf", scopes="catalog.read"
        )
        headers = {"Authorization": f"Bearer {token}"}
        ok = httpx.get(f"{url}/v1/catalog/search?q=x", headers=headers, trust_env=False, timeout=10)
        denied = httpx.get(f"{url}/v1/orders/1", headers=headers, trust_env=False, timeout=10)
        assert ok.status_code == 200 and ok.json()["scopes"] == ["catalog.read"]
        assert denied.status_code == 403
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["gateway", "serve", "--jwks", "/nonexistent/jwks.json"], "cannot read"),
        (["gateway", "serve", "--jwks", "x", "--port", "70000"], "is not a TCP port"),
        (["gateway", "serve", "--jwks", "x", "--rate", "lots"], "must look like"),
        (
            ["gateway", "serve", "--jwks", "x", "--backend", "orders"],
            "PROXY=URL"[:0] or "must look like",
        ),
        (["gateway"], "choose an action"),
    ],
)
def test_gateway_serve_refuses_bad_input_with_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and message in err
