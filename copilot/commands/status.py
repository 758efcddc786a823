"""``atc status``: is Temporal up, are the workers polling, do the gateway, dashboard
and LLM endpoint answer, which schedules run next.

Uses the running ``atc up``'s addresses (``<data_dir>/estate.json``) where
the settings name none. Exits 0 even when parts are down (the output says
which); 2 only for bad usage. The LLM key is sent to its endpoint, never shown.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from copilot.commands._args import add_json_flag
from copilot.commands._output import emit_json, table


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("status", help="what of the estate is up, polling and scheduled")
    parser.description = __doc__
    add_json_flag(parser)
    parser.set_defaults(func=run)


def _word(up: bool | None) -> str:
    return "up" if up else "down"


def _rows(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    temporal, llm = doc["temporal"], doc["llm"]
    rows = [
        ("temporal", _word(temporal["up"]), temporal.get("detail") or temporal["connection"]),
    ]
    for worker in doc["workers"]:
        if not worker["installed"]:
            state, where = "absent", f"{worker['module']} is not in this checkout"
        else:
            state = "polling" if worker["polling"] else "not polling"
            if not worker["polling"] and worker["process_running"]:
                state = "running, not polling"
            queues = worker["task_queues"]
            where = f"task queues {', '.join(queues)}" if queues else "no task queue yet"
        rows.append((f"worker {worker['kind']}", state, where))
    for part in ("gateway", "dashboard"):
        rows.append((part, _word(doc[part]["up"]), doc[part]["url"] or doc[part]["detail"]))
    if llm["configured"]:
        state = "reachable" if llm["reachable"] else "unreachable"
        where = f"{llm['base_url']} model {llm['model']} (key in ${llm['key_env']}: "
        where += f"{'set' if llm['key_set'] else 'NOT set'}; HTTP {llm['http_status']})"
        rows.append(("llm", state, where))
    else:
        rows.append(("llm", "not configured", llm["detail"]))
    bridge = doc["bridge"]
    if not bridge["configured"]:
        rows.append(("bridge", "not configured", "-"))
    else:
        state = "up" if bridge.get("http_status") == 200 else "down"
        rows.append(("bridge", state, bridge.get("url") or bridge.get("detail") or "-"))
    for item in doc["schedules"]["items"]:
        rows.append((f"schedule {item['id']}", "scheduled", f"next run {item['next_run']}"))
    return rows


def run(args: argparse.Namespace) -> int:
    from copilot.config import load_settings
    from copilot.estate.status import collect_status

    doc = collect_status(load_settings(), dict(os.environ))
    if args.json:
        emit_json({"ok": True, "error": None, **doc})
    else:
        print(table(_rows(doc), ["part", "state", "where"]))
    return 0
