"""The bridge's TOML contract: the documented example parses; mistakes are one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from copilot.bridge.config import default_config_text, load_config, parse_config
from copilot.errors import ConfigError

ISSUE_EXAMPLE = """
[bridge]
jwks = "file:.atc/keys/jwks.json"   # or an https:// JWKS URL
issuer = "atc"
audience = "atc-bridge"
idempotency_header = "Idempotency-Key"

[[bridge.route]]                     # the first route whose match holds wins
match = { scope = "orders.approve" } # every listed claim must hold
namespace = "orders"
task_queue = "orders-workflows"
workflows = ["OrderApproval"]        # types this caller may start
signals = ["approve", "reject"]
updates = ["decide"]
"""


def test_the_documented_example_is_the_contract(tmp_path: Path) -> None:
    path = tmp_path / "bridge.toml"
    path.write_text(ISSUE_EXAMPLE, encoding="utf-8")
    config = load_config(path)
    assert (config.jwks, config.jwks_ref) == ("file:.atc/keys/jwks.json", ".atc/keys/jwks.json")
    assert (config.issuer, config.audience, config.idempotency_header) == (
        "atc",
        "atc-bridge",
        "Idempotency-Key",
    )
    (route,) = config.routes
    assert route.match == {"scope": "orders.approve"} and route.namespace == "orders"
    assert route.task_queue == "orders-workflows" and route.workflows == ("OrderApproval",)
    assert route.signals == ("approve", "reject") and route.updates == ("decide",)


def _doc(**bridge: object) -> dict:
    base = {"jwks": "file:j.json", "issuer": "atc", "audience": "atc-bridge"}
    route = {"match": {"scope": "a"}, "namespace": "default", "task_queue": "q"}
    return {"bridge": {**base, "route": [route], **bridge}}


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({}, "no [bridge] table"),
        (_doc(issuer=""), "bridge.issuer is required"),
        (_doc(route=[]), "at least one [[bridge.route]]"),
        (_doc(audiences="x"), "unknown [bridge] key(s) ['audiences']"),
        (_doc(algorithms=["HS256"]), "bridge.algorithms must be a subset"),
        (_doc(max_body_bytes=-1), "max_body_bytes must be a number"),
        (_doc(token_header="X Bad"), "token_header must be an HTTP header name"),
        (
            _doc(route=[{"match": {}, "namespace": "n", "task_queue": "q"}]),
            "match must be a non-empty table",
        ),
        (_doc(route=[{"match": {"scope": "a"}, "task_queue": "q"}]), "namespace is required"),
        (
            _doc(
                route=[
                    {
                        "match": {"scope": "a"},
                        "namespace": "n",
                        "task_queue": "q",
                        "workflow": ["X"],
                    }
                ]
            ),
            "unknown key(s) ['workflow']",
        ),
        (
            _doc(
                route=[
                    {
                        "match": {"scope": "a"},
                        "namespace": "n",
                        "task_queue": "q",
                        "workflows": ["a/b"],
                    }
                ]
            ),
            "workflows must be a list of names",
        ),
        (_doc(schemas={"X": "missing.json"}), "schema file"),
    ],
)
def test_a_bad_config_is_refused_naming_the_key(doc: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(doc)
    assert needle in caught.value.message


def test_the_default_config_atc_up_writes_parses(tmp_path: Path) -> None:
    path = tmp_path / "bridge.toml"
    path.write_text(default_config_text(tmp_path / "jwks.json"), encoding="utf-8")
    config = load_config(path)
    assert config.routes[0].workflows == () and config.audience == "atc-bridge"


def test_the_cli_exits_2_with_one_line_for_a_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "bridge.toml"
    path.write_text("[bridge]\njwks = 3\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "copilot.cli", "bridge", "serve", "--config", str(path), "--port", "0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == f"ConfigError: {path}: bridge.jwks is required"
