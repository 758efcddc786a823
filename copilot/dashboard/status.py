"""The Status page's view model: ``collect_status``'s document as rows people read."""

from __future__ import annotations

from typing import Any

import pandas as pd

from copilot.dashboard.fmt import utc_time

UP, DOWN, OFF = "up", "down", "not configured"


def _http(part: str, doc: dict[str, Any], what_to_do: str) -> dict[str, str]:
    if doc.get("up"):
        return {
            "part": part,
            "state": UP,
            "detail": f"{doc['url']} answered HTTP {doc['http_status']}",
        }
    return {"part": part, "state": DOWN, "detail": doc.get("detail") or what_to_do}


def rows(doc: dict[str, Any]) -> list[dict[str, str]]:
    """One row per part: Temporal, each worker kind, gateway, dashboard, LLM, bridge."""
    temporal = doc["temporal"]
    out = [
        {
            "part": "Temporal",
            "state": UP if temporal.get("up") else DOWN,
            "detail": (
                f"{temporal['address']}, namespace {temporal['namespace']} ({temporal['connection']})"
                if temporal.get("up")
                else f"not reachable at {temporal['address']}; start it with `make run`"
            ),
        }
    ]
    for worker in doc.get("workers", []):
        if not worker.get("installed"):
            continue
        queues = ", ".join(worker.get("task_queues") or []) or "–"
        polling = worker.get("polling")
        out.append(
            {
                "part": f"{worker['kind']} worker",
                "state": UP if polling else DOWN,
                "detail": (
                    f"polling {queues} ({len(worker.get('pollers') or [])} poller(s))"
                    if polling
                    else f"no worker polls {queues}; `make run` starts one"
                ),
            }
        )
    out.append(_http("gateway", doc["gateway"], "not running; `make run` starts the emulator"))
    out.append(_http("dashboard", doc["dashboard"], "not started by `make run`"))
    llm = doc["llm"]
    if not llm.get("configured"):
        out.append(
            {
                "part": "LLM endpoint",
                "state": OFF,
                "detail": "not configured: drafts use the offline planner",
            }
        )
    else:
        state = UP if llm.get("reachable") else DOWN
        key = "key set" if llm.get("key_set") else f"key variable {llm['key_env']} is not set"
        out.append({"part": "LLM endpoint", "state": state,
                    "detail": f"{llm['base_url']}, model {llm['model']}, {key}"})  # fmt: skip
    bridge = doc["bridge"]
    if not bridge.get("configured"):
        out.append({"part": "bridge", "state": OFF, "detail": "not configured"})
    else:
        out.append(_http("bridge", bridge, bridge.get("detail") or "configured, not started"))
    return out


def status_table(doc: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(rows(doc), columns=["part", "state", "detail"])


def schedules_table(doc: dict[str, Any]) -> pd.DataFrame:
    items = (doc.get("schedules") or {}).get("items") or []
    return pd.DataFrame(
        [{"schedule": s["id"], "next run": utc_time(s.get("next_run"))} for s in items],
        columns=["schedule", "next run"],
    )


BRIDGE_START_COLUMNS = ["started", "workflow type", "caller", "client id", "status", "workflow id"]


def bridge_starts_table(doc: dict[str, Any]) -> pd.DataFrame:
    """The bridge's latest starts in the namespace, newest first (``atc status``'s list)."""
    items = (doc.get("bridge") or {}).get("recent_starts", {}).get("items") or []
    return pd.DataFrame(
        [
            {
                "started": utc_time(s.get("started")),
                "workflow type": s["type"],
                "caller": s.get("caller") or "–",
                "client id": s.get("client_id") or "–",
                "status": s.get("status") or "–",
                "workflow id": s["workflow_id"],
            }
            for s in items
        ],
        columns=BRIDGE_START_COLUMNS,
    )


def temporal_ui(doc: dict[str, Any], estate: dict[str, Any] | None) -> str | None:
    """The Temporal UI's address, when ``atc up`` started the dev server (it records it)."""
    return ((estate or {}).get("temporal") or {}).get("ui")
