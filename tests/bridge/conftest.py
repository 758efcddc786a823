"""Fixtures for the bridge: keys made at test time, tokens with any claims, a bridge
config file in the documented TOML contract, and real servers on loopback (the
bridge, the gateway emulator in front of it, a Temporal dev server and a worker)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest

from copilot.bridge.app import Bridge
from copilot.bridge.config import BridgeConfig, load_config
from copilot.bridge.front import front_bridge
from copilot.config import TOKEN_AUDIENCE, TOKEN_ISSUER, Settings
from copilot.scopes.catalog import DEFAULT_PRODUCTS
from copilot.scopes.emulator import create_app
from copilot.scopes.emulator_config import EmulatorConfig
from copilot.scopes.keys import GeneratedKey, generate_keypair, load_jwks, resolve_key_ref
from copilot.scopes.server import BackgroundServer
from tests.workflows.conftest import server  # noqa: F401 - the module-scoped dev server

ISSUER = "https://idp.example.test/"
AUDIENCE = "atc-bridge"
QUEUE = "orders-workflows"

CONFIG = """
[bridge]
jwks = "file:{jwks}"
issuer = "{issuer}"
audience = "{audience}"
idempotency_header = "Idempotency-Key"
max_body_bytes = 4096
{extra}

[[bridge.route]]                     # the first route whose match holds wins
match = {{ scope = "orders.approve" }}
namespace = "default"
task_queue = "{queue}"
workflows = {workflows}        # types this caller may start
signals = ["approve", "reject"]
updates = ["decide"]

[[bridge.route]]
name = "payments"
match = {{ groups = "payments-team", scp = "payments.run" }}
namespace = "payments"
task_queue = "payments-workflows"
workflows = ["PaymentRun"]
"""


@dataclass
class Keys:
    trusted: GeneratedKey
    stranger: GeneratedKey


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return Keys(
        trusted=generate_keypair(tmp_path_factory.mktemp("bridge-keys"), "RS256"),
        stranger=generate_keypair(tmp_path_factory.mktemp("stranger-keys"), "RS256"),
    )


def mint(keys: Keys, *, stranger: bool = False, drop: tuple[str, ...] = (), **claims: Any) -> str:
    """A signed JWT with realistic claims; override any, ``drop`` some."""
    key = resolve_key_ref((keys.stranger if stranger else keys.trusted).ref)
    now = int(time.time())
    doc: dict[str, Any] = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": "alice@example.test", "client_id": "app-7",
        "scope": "orders.approve", "iat": now, "nbf": now, "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }  # fmt: skip
    doc.update(claims)
    for name in drop:
        doc.pop(name, None)
    return jwt.encode(doc, key.key, algorithm=key.alg, headers={"kid": key.kid})


def write_config(
    folder: Path, keys: Keys, extra: str = "", workflows: tuple[str, ...] = ("OrderApproval",)
) -> Path:
    path = folder / "bridge.toml"
    text = CONFIG.format(
        jwks=keys.trusted.jwks_path,
        issuer=ISSUER,
        audience=AUDIENCE,
        queue=QUEUE,
        extra=extra,
        workflows=json.dumps(list(workflows)),
    )
    path.write_text(text, encoding="utf-8")
    return path


class LogLines(logging.Handler):
    """Every formatted record of the ``atc.bridge`` logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class Running:
    url: str
    bridge: Bridge
    config: BridgeConfig
    gateway: str = ""


@pytest.fixture(scope="module")
def bridge_log() -> Iterator[LogLines]:
    handler = LogLines()
    logger = logging.getLogger("atc.bridge")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture(scope="module")
def start_bridge(
    tmp_path_factory: pytest.TempPathFactory, keys: Keys
) -> Iterator[Callable[..., Running]]:
    """Start bridges (optionally fronted by the emulator) on loopback; stopped after the module."""
    servers: list[BackgroundServer] = []

    def start(
        address: str,
        *,
        extra: str = "",
        gateway: bool = False,
        workflows: tuple[str, ...] = ("OrderApproval",),
        files: dict[str, str] | None = None,
        **settings_given: Any,
    ) -> Running:
        folder = tmp_path_factory.mktemp("bridge")
        for name, text in (files or {}).items():
            (folder / name).write_text(text, encoding="utf-8")
        config = load_config(write_config(folder, keys, extra, workflows))
        settings_given.setdefault("data_dir", folder / "data")
        settings = Settings(temporal_address=address, **settings_given)
        bridge = Bridge(config, settings)
        servers.append(BackgroundServer(bridge.app))
        running = Running(servers[-1].start(), bridge, config)
        if gateway:
            # As `atc gateway serve --bridge-config --bridge-url` (and `atc up`) set it up:
            # the shipped products plus the bridge's, VerifyJWT per proxy.
            catalog, backends, auth, _ = front_bridge(DEFAULT_PRODUCTS, config, running.url)
            emulator = EmulatorConfig(
                catalog=catalog,
                jwks=load_jwks(keys.trusted.jwks_path),
                audience=TOKEN_AUDIENCE,
                issuer=TOKEN_ISSUER,
                backends=backends,
                spike_arrest=None,
                proxy_auth=auth,
            )
            servers.append(BackgroundServer(create_app(emulator)))
            running.gateway = servers[-1].start()
        return running

    yield start
    for one in reversed(servers):
        one.stop()


class ThreadWorker:
    """A Temporal worker for the sample workflow, on its own event loop in a thread."""

    def __init__(self, address: str, task_queue: str) -> None:
        self.address, self.task_queue = address, task_queue
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="bridge-test-worker")

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        from temporalio.client import Client
        from temporalio.worker import Worker

        from tests.bridge.sample_workflow import CallerInterceptor, OrderApproval

        client = await Client.connect(self.address)
        self._stop = asyncio.Event()
        async with Worker(
            client,
            task_queue=self.task_queue,
            workflows=[OrderApproval],
            interceptors=[CallerInterceptor()],
        ):
            self._ready.set()
            await self._stop.wait()

    def start(self) -> ThreadWorker:
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("the test worker did not start")
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
