"""``atc up``: start what is not running, record where it listens, stop it all at the end.

Order matters both ways: Temporal first (workers need it), the gateway (the
workers' drafted calls go through it, and it fronts the bridge on ``/bridge``),
the bridge, the workers, the dashboard last; on stop, the reverse. A child that dies at any time stops the rest and makes
``atc up`` exit 1; SIGTERM or Ctrl-C stops everything it started and exits 0.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from copilot.config import Settings
from copilot.errors import ExternalError, InputError
from copilot.estate.estate_file import remove_estate, running_estate, write_estate
from copilot.estate.plan import (
    LOOPBACK,
    UpOptions,
    bridge_config_path,
    bridge_spec,
    child_env,
    choose_port,
    dashboard_spec,
    gateway_spec,
    plan_temporal,
    temporal_spec,
    worker_modules,
    worker_spec,
)
from copilot.estate.supervisor import Supervisor
from copilot.scopes.keys import ensure_keypair

Say = Callable[[str], None]


def _search_attributes() -> list[str]:
    from workflows.authoring.shared import INT_ATTRIBUTES, KEYWORD_ATTRIBUTES

    return [f"{n}=Keyword" for n in KEYWORD_ATTRIBUTES] + [f"{n}=Int" for n in INT_ATTRIBUTES]


def refuse_if_running(data_dir: Path) -> None:
    """InputError naming the live ``atc up`` that already serves ``data_dir``."""
    doc = running_estate(data_dir)
    if doc is not None:
        where = ", ".join(
            f"{name} {doc[name].get('url') or doc[name].get('address')}"
            for name in ("temporal", "gateway", "bridge", "dashboard")
            if isinstance(doc.get(name), dict)
        )
        raise InputError(
            f"atc up already runs for {data_dir} (pid {doc['pid']}): {where}; "
            "use `atc status`, or stop it first"
        )


def _temporal(settings: Settings, options: UpOptions, sup: Supervisor, say: Say) -> dict:
    plan = plan_temporal(settings, options)
    if plan.note:
        say(plan.note)
    doc: dict[str, Any] = {
        "address": plan.address,
        "namespace": settings.temporal_namespace,
        "started": plan.start,
    }
    if plan.start:
        db = settings.data_dir.resolve() / "temporal.db"
        child = sup.start(temporal_spec(plan, db, _search_attributes()))
        doc.update(pid=child.pid, ui=f"http://127.0.0.1:{plan.ui_port}", db=str(db))
        say(f"Temporal dev server on {plan.address}, UI http://127.0.0.1:{plan.ui_port}")
    return doc


def _gateway(
    settings: Settings, port: int, bridge: tuple[Path, str] | None, sup: Supervisor, say: Say
) -> dict:
    keys = ensure_keypair(settings.data_dir.resolve() / "keys")
    chosen, note = choose_port(port, "gateway")
    if note:
        say(note)
    spec = gateway_spec(settings, chosen, keys.jwks_path, child_env(settings), bridge)
    child = sup.start(spec)
    fronts = f", fronting the bridge on {child.spec.url}/bridge" if bridge else ""
    say(f"gateway emulator on {child.spec.url} (JWKS {keys.jwks_path}{fronts})")
    return {
        "url": child.spec.url,
        "pid": child.pid,
        "jwks": str(keys.jwks_path),
        "key_ref": keys.ref,
        "keys_dir": str(keys.jwks_path.parent),
        "bridge_url": f"{child.spec.url}/bridge" if bridge else None,
    }


def _bridge_port(settings: Settings, port: int, say: Say) -> tuple[Path, int] | None:
    """The bridge's config and port, when ``<data_dir>/bridge.toml`` exists (``atc bridge init``).

    Chosen before the gateway starts, so the gateway can front the bridge's URL.
    """
    config = bridge_config_path(settings)
    if not config.exists():
        return None
    chosen, note = choose_port(port, "bridge")
    if note:
        say(note)
    return config, chosen


def _bridge(planned: tuple[Path, int], env: dict[str, str], sup: Supervisor, say: Say) -> dict:
    """The ingress bridge on its planned port."""
    config, port = planned
    child = sup.start(bridge_spec(config, port, env))
    say(f"bridge on {child.spec.url} (config {config})")
    return {"url": child.spec.url, "pid": child.pid, "config": str(config)}


def _workers(settings: Settings, env: dict[str, str], sup: Supervisor, say: Say) -> list[dict]:
    workers = []
    for index, (kind, module) in enumerate(worker_modules()):
        metrics = settings.metrics_port + index if settings.metrics_port else None
        extra = {"ATC_METRICS_PORT": str(metrics)} if metrics else {}
        child = sup.start(worker_spec(kind, module, {**env, **extra}))
        metrics_url = f"http://127.0.0.1:{metrics}/metrics" if metrics else None
        workers.append({"kind": kind, "module": module, "pid": child.pid, "metrics": metrics_url})
        say(f"worker {kind} polling ({module}, pid {child.pid})")
    return workers


def _dashboard(
    settings: Settings, port: int, env: dict[str, str], sup: Supervisor, say: Say
) -> dict:
    chosen, note = choose_port(port, "dashboard")
    if note:
        say(note)
    child = sup.start(dashboard_spec(chosen, env))
    say(f"dashboard on {child.spec.url}")
    return {"url": child.spec.url, "pid": child.pid}


def bring_up(
    settings: Settings, options: UpOptions, sup: Supervisor, pid: int, say: Say
) -> dict[str, Any]:
    """Start every part in order and return the estate document (not yet written)."""
    data_dir = settings.data_dir.resolve()
    temporal = _temporal(settings, options, sup, say)
    planned = _bridge_port(settings, options.bridge_port, say)
    fronted = (planned[0], f"http://{LOOPBACK}:{planned[1]}") if planned else None
    gateway = _gateway(settings, options.gateway_port, fronted, sup, say)
    env = child_env(
        settings,
        temporal_address=temporal["address"],
        keys_dir=gateway["keys_dir"],
        gateway_url=gateway["url"],
        gateway_key_ref=gateway["key_ref"],
    )
    bridge = _bridge(planned, env, sup, say) if planned else None
    workers = _workers(settings, env, sup, say) if options.workers else []
    dashboard = (
        _dashboard(settings, options.dashboard_port, env, sup, say) if options.dashboard else None
    )
    return {
        "pid": pid,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "data_dir": str(data_dir),
        "logs": str(sup.log_dir),
        "temporal": temporal,
        "gateway": gateway,
        "bridge": bridge,
        "workers": workers,
        "dashboard": dashboard,
    }


def run_up(
    settings: Settings,
    options: UpOptions,
    sup: Supervisor,
    *,
    pid: int,
    say: Say,
    on_ready: Callable[[dict[str, Any]], None],
) -> int:
    """Bring the estate up, serve until ``sup.stop`` is set or a child dies, then stop it all.

    Returns 0 after a requested stop, 1 when a child died (it is reported).
    """
    data_dir = settings.data_dir.resolve()
    refuse_if_running(data_dir)
    try:
        try:
            doc = bring_up(settings, options, sup, pid, say)
        except ExternalError:
            if sup.stop.is_set():
                return 0
            raise
        write_estate(data_dir, doc)
        on_ready(doc)
        died = sup.wait()
        if died is None:
            return 0
        say(
            f"{died.spec.name} exited with code {died.proc.returncode} (log {died.log}): "
            f"{died.tail()}; stopping the rest"
        )
        return 1
    finally:
        say("stopping the estate")
        sup.stop_all()
        remove_estate(data_dir, pid)
