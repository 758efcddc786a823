"""A runs estate for tests: a dev server, a gateway emulator with a demo key, approved drafts,
the runs worker as a real process, and the ``atc`` CLI as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from copilot.drafting.decision import ReviewDecision
from copilot.drafting.render import render
from copilot.drafting.spec import WorkflowSpec
from copilot.drafting.store import DraftStore, NewVersion
from copilot.scopes import DEFAULT_PRODUCTS, load_catalog
from copilot.scopes.emulator import create_app
from copilot.scopes.emulator_config import EmulatorConfig
from copilot.scopes.keys import generate_keypair, load_jwks
from copilot.scopes.server import BackgroundServer, echo_backend_app
from tests.paths import ROOT
from tests.workflows.devserver import DevServer, WorkerProcess
from workflows.runs.shared import READY

ISSUER, AUDIENCE = "atc-test", "atc-test-gateway"


class Gateway:
    """The echo backend behind the gateway emulator, verifying a demo key's tokens."""

    def __init__(self, tmp: Path) -> None:
        self.key = generate_keypair(tmp / "gateway-keys", "RS256")
        self.backend_app = echo_backend_app()
        self.backend = BackgroundServer(self.backend_app)
        self.backend.start()
        self.app = create_app(
            EmulatorConfig(
                catalog=load_catalog(None),
                jwks=load_jwks(self.key.jwks_path),
                audience=AUDIENCE,
                issuer=ISSUER,
                backends={"*": self.backend.url},
                spike_arrest=None,
            )
        )
        self.tokens: list[str] = []
        self.server = BackgroundServer(_recording(self.app, self.tokens))
        self.url = self.server.start()

    @property
    def hits(self) -> list[dict[str, Any]]:
        return self.backend_app.state.hits

    def stop(self) -> None:
        self.server.stop()
        self.backend.stop()


def _recording(app: Any, tokens: list[str]) -> Any:
    """The emulator, noting each bearer token it is sent (to look for them in histories)."""

    async def wrapped(scope: dict, receive: Any, send: Any) -> None:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                tokens.append(value.decode("latin-1").split()[-1])
        await app(scope, receive, send)

    return wrapped


class RunsWorker(WorkerProcess):
    """``python -m workflows.runs.worker`` in its own process group."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        super().__init__(env, log, "workflows.runs.worker")

    def wait_for(self, needle: str, timeout_s: float = 120.0) -> None:
        super().wait_for(needle, timeout_s)


class Estate:
    """A data directory with a draft store, a runs queue, a gateway and worker processes."""

    def __init__(self, server: DevServer, tmp: Path) -> None:
        self.server, self.tmp = server, tmp
        self.data = tmp / "data"
        self.store = DraftStore.in_data_dir(self.data)
        self.queue = f"atc-runs-test-{uuid.uuid4().hex[:8]}"
        self.gateway = Gateway(tmp)
        self.workers: list[RunsWorker] = []

    def env(self, **extra: str) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith("ATC_")}
        return {
            **keep,
            "ATC_TEMPORAL_ADDRESS": self.server.address,
            "ATC_DATA_DIR": str(self.data),
            "ATC_RUNS_TASK_QUEUE": self.queue,
            "ATC_GATEWAY_URL": self.gateway.url,
            "ATC_GATEWAY_KEY_REF": self.gateway.key.ref,
            "ATC_GATEWAY_ISSUER": ISSUER,
            "ATC_GATEWAY_AUDIENCE": AUDIENCE,
            **extra,
        }

    def draft(self, spec: dict[str, Any], scopes: tuple[str, ...]) -> str:
        parsed = WorkflowSpec.model_validate(spec)
        version = NewVersion(parsed.to_json(), render(parsed, scopes), [], True)
        return self.store.create("test", list(scopes), str(DEFAULT_PRODUCTS), version, "bob")

    def edit(self, draft_id: str, spec: dict[str, Any]) -> int:
        parsed = WorkflowSpec.model_validate(spec)
        scopes = self.store.get(draft_id)["scopes"]
        version = NewVersion(parsed.to_json(), render(parsed, scopes), [], True)
        return self.store.add_version(draft_id, version, "bob", "edit")

    def approve(self, draft_id: str) -> int:
        state = self.store.state(draft_id)
        self.store.decide(
            draft_id, ReviewDecision("approve", "alice", "", state.version, state.spec_hash)
        )
        return state.version

    def worker(self, wait_for: str = READY, **env: str) -> RunsWorker:
        log = self.tmp / f"runs-worker-{len(self.workers)}.log"
        process = RunsWorker(self.env(**env), log)
        self.workers.append(process)
        process.wait_for(wait_for)
        return process

    def atc(self, *argv: str, timeout_s: float = 120.0) -> subprocess.CompletedProcess:
        """The CLI as a real process; ``--json`` output parsed into ``.doc`` when present."""
        done = subprocess.run(
            [sys.executable, "-m", "copilot.cli", *argv],
            cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=timeout_s,
        )  # fmt: skip
        done.doc = json.loads(done.stdout) if "--json" in argv and done.stdout.strip() else None
        return done

    def atc_background(self, *argv: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "copilot.cli", *argv],
            cwd=ROOT, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.gateway.stop()
