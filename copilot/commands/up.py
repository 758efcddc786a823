"""``atc up``: the whole local estate in one command (``make run`` uses it).

Starts what is not already running — the Temporal dev server (SQLite in the
data directory, loopback, atc's search attributes), the workers of this
checkout, the gateway emulator with demo keys, the dashboard — prints where
each listens, writes ``<data_dir>/estate.json``, and on Ctrl-C or SIGTERM
stops everything it started (and nothing else). A child that dies stops the
rest and exits 1. Progress goes to stderr; ``--json`` prints the estate
document on stdout once everything is up.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

from copilot.commands._output import emit_json
from copilot.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("up", help="start the local estate (Temporal, workers, gateway, UI)")
    parser.description = __doc__
    parser.add_argument("--port", type=int, default=8501, help="dashboard port (0 = any free)")
    parser.add_argument("--gateway-port", type=int, default=8080, help="gateway emulator port")
    parser.add_argument(
        "--bridge-port", type=int, default=8088, help="bridge port, when configured"
    )
    parser.add_argument(
        "--temporal-port", type=int, help="dev server port (default 7233; 0 = any free)"
    )
    parser.add_argument("--ui-port", type=int, help="Temporal UI port (default: dev port + 1000)")
    parser.add_argument("--no-dashboard", action="store_true", help="do not start the dashboard")
    parser.add_argument("--no-workers", action="store_true", help="do not start the workers")
    parser.add_argument("--json", action="store_true", help="print the estate document when up")
    parser.set_defaults(func=run)


def _check_ports(args: argparse.Namespace) -> None:
    for flag in ("port", "gateway_port", "bridge_port", "temporal_port", "ui_port"):
        value = getattr(args, flag)
        if value is not None and not 0 <= value <= 65535:
            raise UsageError(f"--{flag.replace('_', '-')} {value} is not a TCP port")


def _summary(doc: dict[str, Any]) -> str:
    temporal = doc["temporal"]
    lines = [f"Temporal   {temporal['address']} namespace {temporal['namespace']}"]
    if temporal.get("ui"):
        lines.append(f"Temporal UI {temporal['ui']}")
    lines.append(f"gateway    {doc['gateway']['url']}")
    if doc.get("bridge"):
        via = doc["gateway"].get("bridge_url")
        lines.append(f"bridge     {doc['bridge']['url']}" + (f" (gateway: {via})" if via else ""))
    lines += [f"worker     {w['kind']} (pid {w['pid']})" for w in doc["workers"]]
    if doc["dashboard"]:
        lines.append(f"dashboard  {doc['dashboard']['url']}")
    lines.append(f"estate     {doc['data_dir']}/estate.json; logs in {doc['logs']}")
    return "\n".join(lines) + "\n(Ctrl-C or SIGTERM stops everything atc up started)"


def run(args: argparse.Namespace) -> int:
    from copilot.config import load_settings
    from copilot.estate.plan import UpOptions
    from copilot.estate.supervisor import Supervisor
    from copilot.estate.up import run_up

    _check_ports(args)
    settings = load_settings()
    options = UpOptions(
        dashboard=not args.no_dashboard,
        workers=not args.no_workers,
        dashboard_port=args.port,
        gateway_port=args.gateway_port,
        bridge_port=args.bridge_port,
        temporal_port=args.temporal_port,
        ui_port=args.ui_port,
    )
    sup = Supervisor(settings.data_dir.resolve() / "logs")
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sup.stop.set())

    def say(line: str) -> None:
        print(f"atc up: {line}", file=sys.stderr, flush=True)

    def on_ready(doc: dict[str, Any]) -> None:
        if args.json:
            emit_json({"ok": True, "error": None, **doc})
        else:
            print(_summary(doc))
        sys.stdout.flush()

    return run_up(settings, options, sup, pid=os.getpid(), say=say, on_ready=on_ready)
