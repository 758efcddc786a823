"""The one connect: TLS by configuration against a real dev server behind a TLS proxy,
worker metrics and structured logs.

The dev server has no TLS options, so a loopback TLS-terminating proxy with a
test CA stands in front of it; the client's handshake is real.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import activity, workflow
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from copilot.config import Settings
from copilot.errors import ConfigError, TemporalError
from copilot.estate.logs import ActivityLogInterceptor, JsonFormatter
from copilot.temporal_connect import connect, connect_with, connection_material, tls_config
from tests.estate.tls import Pem, TlsProxy, make_ca, make_server_cert
from tests.paths import ROOT
from tests.workflows.devserver import DevServer, WorkerProcess, dev_server, free_port

pytestmark = pytest.mark.slow  # a real Temporal dev server


@dataclass(frozen=True)
class Certs:
    ca: Pem
    other_ca: Pem
    server: Pem


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    with dev_server(tmp_path_factory.mktemp("temporal")) as running:
        yield running


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    folder = tmp_path_factory.mktemp("certs")
    ca, ca_cert, ca_key = make_ca(folder, "ca")
    other, _, _ = make_ca(folder, "other-ca")
    return Certs(ca, other, make_server_cert(folder, ca_cert, ca_key, "temporal.test"))


@pytest.fixture(scope="module")
def proxy(server: DevServer, certs: Certs) -> Iterator[TlsProxy]:
    with TlsProxy(certs.server, server.port) as running:
        yield running


def _tls_settings(proxy: TlsProxy, ca: Path, **extra: object) -> Settings:
    return Settings(
        temporal_address=f"127.0.0.1:{proxy.port}",
        temporal_tls_ca=str(ca),
        temporal_tls_server_name="temporal.test",
        **extra,  # type: ignore[arg-type]
    )


def test_connects_through_tls_with_the_right_ca(proxy: TlsProxy, certs: Certs) -> None:
    async def system_info() -> object:
        from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

        client = await connect(_tls_settings(proxy, certs.ca.cert), within_s=5)
        return await client.workflow_service.get_system_info(GetSystemInfoRequest())

    assert asyncio.run(system_info()).server_version  # type: ignore[attr-defined]


def test_a_wrong_ca_fails_at_once_with_one_line(proxy: TlsProxy, certs: Certs) -> None:
    with pytest.raises(TemporalError) as caught:
        asyncio.run(connect(_tls_settings(proxy, certs.other_ca.cert), within_s=60))
    assert "\n" not in caught.value.line()
    assert "certificate" in caught.value.line().lower()


def test_a_process_without_the_settings_connects_from_the_handed_over_material(
    proxy: TlsProxy, certs: Certs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The isolated drafted-workflow child cannot read the CA file: it gets the PEM text."""
    monkeypatch.setenv("ATC_TEST_TEMPORAL_KEY", "k-123")
    right = connection_material(
        _tls_settings(proxy, certs.ca.cert, temporal_api_key_env="ATC_TEST_TEMPORAL_KEY")
    )
    wrong = connection_material(_tls_settings(proxy, certs.other_ca.cert))
    assert right["api_key"] == "k-123" and "BEGIN CERTIFICATE" in right["tls"]["ca"]
    json.dumps(right)  # it crosses into the child as a file

    async def namespace_of(material: dict) -> str:
        client = await connect_with(json.loads(json.dumps(material)))
        return client.namespace

    assert asyncio.run(namespace_of(right)) == "default"
    with pytest.raises(Exception, match="(?i)certificate|tls|handshake|transport"):
        asyncio.run(asyncio.wait_for(namespace_of(wrong), 30))
    plain = connection_material(Settings(temporal_address="127.0.0.1:7233"))
    assert plain == {
        "address": "127.0.0.1:7233", "namespace": "default", "tls": False, "api_key": None,
    }  # fmt: skip


def test_the_worker_command_exits_1_with_one_line_on_a_wrong_ca(
    proxy: TlsProxy, certs: Certs, tmp_path: Path
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "ATC_DATA_DIR": str(tmp_path),
        "ATC_TEMPORAL_ADDRESS": f"127.0.0.1:{proxy.port}",
        "ATC_TEMPORAL_TLS_CA": str(certs.other_ca.cert),
        "ATC_TEMPORAL_TLS_SERVER_NAME": "temporal.test",
    }
    done = subprocess.run(
        [sys.executable, "-m", "copilot.cli", "worker"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("TemporalError: cannot connect"), done.stderr


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (Settings(temporal_tls_ca="/nonexistent/ca.pem"), "ATC_TEMPORAL_TLS_CA"),
        (Settings(temporal_tls_cert="/etc/hostname"), "go together"),
        (Settings(temporal_api_key_env="ATC_TEST_SURELY_UNSET_KEY"), "is not set"),
    ],
)
def test_bad_tls_or_key_settings_are_input_errors(settings: Settings, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        asyncio.run(connect(settings, within_s=1))


def test_an_api_key_alone_means_tls_with_the_system_roots() -> None:
    assert tls_config(Settings(temporal_api_key_env="SOME_VAR")) is True
    assert tls_config(Settings()) is False


def test_the_worker_serves_temporal_metrics_when_the_port_is_set(
    server: DevServer, tmp_path: Path
) -> None:
    port = free_port()
    keep = {k: v for k, v in os.environ.items() if not k.startswith("ATC_")}
    env = {
        **keep,
        "ATC_TEMPORAL_ADDRESS": server.address,
        "ATC_TEMPORAL_TASK_QUEUE": f"atc-metrics-{uuid.uuid4().hex[:8]}",
        "ATC_DATA_DIR": str(tmp_path / "data"),
        "ATC_METRICS_PORT": str(port),
    }
    worker = WorkerProcess(env, tmp_path / "worker.log")
    try:
        worker.wait_polling()
        body = _get_metrics(port)
    finally:
        worker.stop()
    assert "temporal_" in body


def _get_metrics(port: int, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                body = r.read().decode()
            if "temporal_" in body or time.monotonic() > deadline:
                return body
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


@activity.defn(name="atc.test_echo")
async def _echo(text: str) -> str:
    return text


@workflow.defn(name="AtcLogTest")
class _LogTest:
    @workflow.run
    async def run(self, text: str) -> str:
        return await workflow.execute_activity(
            _echo, text, start_to_close_timeout=timedelta(seconds=10)
        )


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_activity_logs_are_json_with_workflow_and_run_ids(server: DevServer) -> None:
    captured = _Lines()
    logging.getLogger("temporalio.activity").addHandler(captured)
    logging.getLogger("temporalio.activity").setLevel(logging.INFO)

    async def go() -> tuple[str, str]:
        client = await connect(Settings(temporal_address=server.address), within_s=10)
        queue = f"atc-logs-{uuid.uuid4().hex[:8]}"
        async with Worker(
            client,
            task_queue=queue,
            workflows=[_LogTest],
            activities=[_echo],
            interceptors=[ActivityLogInterceptor()],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            handle = await client.start_workflow(
                _LogTest.run, "hi", id=f"log-{uuid.uuid4().hex[:8]}", task_queue=queue
            )
            await handle.result()
            return handle.id, handle.result_run_id or ""

    try:
        workflow_id, run_id = asyncio.run(go())
    finally:
        logging.getLogger("temporalio.activity").removeHandler(captured)
    records = [json.loads(line) for line in captured.lines]
    started = [r for r in records if r["message"].startswith("activity started")]
    assert started and started[0]["workflow_id"] == workflow_id
    assert started[0]["workflow_run_id"] == run_id
    assert any(r["message"].startswith("activity completed") for r in records)
