"""`atc up` starts the bridge when `<data_dir>/bridge.toml` exists, its gateway fronts it on
`/bridge` with the bridge's routes, and `atc status` shows it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from copilot.config import Settings
from copilot.dashboard.status import bridge_starts_table
from copilot.estate.plan import bridge_config_path, bridge_spec, gateway_spec
from copilot.scopes.tokens import mint_token
from tests.commands.test_up_cli import FREE_PORTS, Up, _atc, _env, alive, status

pytestmark = pytest.mark.slow


def test_the_bridge_child_serves_its_config_on_loopback(tmp_path: Path) -> None:
    spec = bridge_spec(tmp_path / "bridge.toml", 8123, {})
    assert spec.name == "bridge" and spec.url == "http://127.0.0.1:8123"
    assert spec.argv[-8:] == ["bridge", "serve", "--config", str(tmp_path / "bridge.toml"),
                              "--host", "127.0.0.1", "--port", "8123"]  # fmt: skip
    assert bridge_config_path(Settings(data_dir=tmp_path)) == tmp_path.resolve() / "bridge.toml"


def test_the_gateway_child_fronts_the_bridge_only_when_there_is_one(tmp_path: Path) -> None:
    settings, jwks = Settings(data_dir=tmp_path), tmp_path / "jwks.json"
    alone = gateway_spec(settings, 8080, jwks, {})
    assert "--bridge-config" not in alone.argv and "--bridge-url" not in alone.argv
    config = tmp_path / "bridge.toml"
    fronting = gateway_spec(settings, 8080, jwks, {}, (config, "http://127.0.0.1:8123"))
    assert fronting.argv[-4:] == ["--bridge-config", str(config),
                                  "--bridge-url", "http://127.0.0.1:8123"]  # fmt: skip


def _wait_for(check: Callable[[], Any], what: str, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)
    return value


def _memo_caller(address: str, workflow_id: str) -> dict:
    async def go() -> dict:
        client = await Client.connect(address)
        return (await (await client.get_workflow_handle(workflow_id).describe()).memo())["caller"]

    return asyncio.run(go())


def test_atc_up_starts_the_configured_bridge_and_status_shows_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    init = subprocess.run(
        _atc("bridge", "init"),
        cwd=tmp_path,
        env=_env(data),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert init.returncode == 0, init.stderr
    config = data / "bridge.toml"
    config.write_text(
        config.read_text().replace("workflows = []", 'workflows = ["OrderApproval"]'), "utf-8"
    )
    up = Up(
        tmp_path,
        *FREE_PORTS,
        "--bridge-port",
        "0",
        "--temporal-port",
        "0",
        "--no-dashboard",
        "--no-workers",
    )
    try:
        doc = up.wait_up()
        bridge = doc["bridge"]
        assert bridge["config"] == str(data.resolve() / "bridge.toml") and alive(int(bridge["pid"]))
        health = httpx.get(bridge["url"] + "/healthz", trust_env=False, timeout=30)
        assert health.json() == {"ok": True, "temporal": "up"}
        code, shown = status(data)
        assert code == 0 and shown["bridge"]["configured"] is True
        assert shown["bridge"]["url"] == bridge["url"] and shown["bridge"]["http_status"] == 200
        public = doc["gateway"]["url"] + "/bridge"
        assert shown["bridge"]["gateway_url"] == doc["gateway"]["bridge_url"] == public

        # client -> atc up's gateway (the bridge's products, its VerifyJWT) -> bridge -> Temporal
        key = doc["gateway"]["key_ref"]
        token = mint_token(key, issuer="atc", audience="atc-bridge", subject="alice",
                           scopes="workflows.start", client_id="app-1")  # fmt: skip
        other = mint_token(key, issuer="atc", audience="atc-bridge", subject="mallory",
                           scopes="workflows.start")  # fmt: skip
        started = httpx.post(
            public + "/v1/workflows/OrderApproval",
            headers={"Authorization": f"Bearer {token}", "X-Atc-Caller-Token": other},
            json={"order_id": "o-1"}, trust_env=False, timeout=30,
        )  # fmt: skip
        assert started.status_code == 202, started.text
        wid = started.json()["workflow_id"]
        # The status URL a caller gets is the one it can follow at the gateway.
        status_url = doc["gateway"]["url"] + started.json()["status_url"]
        followed = httpx.get(status_url, headers={"Authorization": f"Bearer {token}"},
                             trust_env=False, timeout=30)  # fmt: skip
        assert followed.status_code == 200 and followed.json()["workflow_id"] == wid
        caller = _memo_caller(doc["temporal"]["address"], wid)
        assert (caller["sub"], caller["client_id"]) == ("alice", "app-1")
        refused = httpx.post(public + "/v1/workflows/Other", json={}, trust_env=False, timeout=30,
                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert refused.status_code == 403  # not in the bridge's products: the gateway refuses
        assert refused.json()["fault"]["detail"]["errorcode"] == "steps.oauth.v2.InsufficientScope"
        gateway_token = mint_token(key, issuer="atc", audience="atc-gateway", subject="alice",
                                   scopes="workflows.start")  # fmt: skip
        wrong = httpx.post(public + "/v1/workflows/OrderApproval", json={}, trust_env=False,
                           headers={"Authorization": f"Bearer {gateway_token}"}, timeout=30)  # fmt: skip
        assert wrong.status_code == 401  # the bridge proxy verifies the bridge's audience

        # atc status (and the dashboard's Status page) list the latest starts, newest first
        def latest() -> dict:
            return status(data)[1]["bridge"]["recent_starts"]

        listed = _wait_for(lambda: (doc := latest())["items"] and doc, "the start in visibility")
        first = listed["items"][0]
        assert (first["workflow_id"], first["type"], first["caller"]) == (
            wid, "OrderApproval", "alice")  # fmt: skip
        assert (first["client_id"], first["status"]) == ("app-1", "RUNNING")
        rows = bridge_starts_table({"bridge": {"recent_starts": listed}})
        assert rows.iloc[0][["workflow type", "caller", "workflow id"]].tolist() == [
            "OrderApproval", "alice", wid]  # fmt: skip
        assert token not in json.dumps(listed)
    finally:
        assert up.stop() == 0
    assert not alive(int(bridge["pid"]))
    logs = {p.name: p.read_text(errors="replace") for p in Path(doc["logs"]).iterdir()}
    assert "OrderApproval" in logs["bridge.log"]  # the bridge logged the start...
    for token_sent in (token, other, gateway_token):  # ...and no log holds a token
        assert not [name for name, text in logs.items() if token_sent in text]
