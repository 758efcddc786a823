"""The keep-network option: a worker child reaches the host's loopback, and nothing else loosens."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

from copilot.drafting.isolation import available_backends, run_isolated

PROBE = r"""
import json, os, socket, sys
out = {}
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3).close()
    out["host"] = "connected"
except OSError as exc:
    out["host"] = type(exc).__name__
out["data_dir"] = os.listdir(sys.argv[2]) if os.path.exists(sys.argv[2]) else []
print(json.dumps(out))
"""


@pytest.fixture
def unshare() -> str:
    reason = available_backends()["unshare"]
    if reason:
        pytest.skip(f"unshare cannot create namespaces here: {reason}")
    return "unshare"


@pytest.mark.parametrize("keep_network", [True, False])
def test_keep_network_reaches_the_host_and_still_hides_the_data_directory(
    tmp_path: Path, unshare: str, keep_network: bool
) -> None:
    secret = tmp_path / "data"
    secret.mkdir()
    (secret / "private.pem").write_text("KEY")
    workdir = tmp_path / "work"
    workdir.mkdir()
    with socket.create_server(("127.0.0.1", 0)) as server:
        argv = [sys.executable, "-I", "-c", PROBE, str(server.getsockname()[1]), str(secret)]
        run = run_isolated(
            argv,
            workdir=workdir,
            timeout_s=60,
            backend=unshare,
            hide=[secret],
            keep_network=keep_network,
        )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report == {
        "host": "connected" if keep_network else "ConnectionRefusedError",
        "data_dir": [],
    }
    assert run.isolation.startswith("namespaces(")
    assert ("net" in run.isolation) is not keep_network
    assert "mount" in run.isolation and "pid" in run.isolation
