"""`atc up` starts the bridge when `<data_dir>/bridge.toml` exists, and `atc status` shows it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from copilot.config import Settings
from copilot.estate.plan import bridge_config_path, bridge_spec
from tests.commands.test_up_cli import FREE_PORTS, Up, _atc, _env, alive, status

pytestmark = pytest.mark.slow


def test_the_bridge_child_serves_its_config_on_loopback(tmp_path: Path) -> None:
    spec = bridge_spec(tmp_path / "bridge.toml", 8123, {})
    assert spec.name == "bridge" and spec.url == "http://127.0.0.1:8123"
    assert spec.argv[-8:] == ["bridge", "serve", "--config", str(tmp_path / "bridge.toml"),
                              "--host", "127.0.0.1", "--port", "8123"]  # fmt: skip
    assert bridge_config_path(Settings(data_dir=tmp_path)) == tmp_path.resolve() / "bridge.toml"


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
    finally:
        assert up.stop() == 0
    assert not alive(int(bridge["pid"]))
