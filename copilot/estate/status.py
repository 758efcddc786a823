"""``atc status``: what answers, probed cheaply, as one document.

Temporal (does it answer, with the configured TLS and key), each worker kind
(are there pollers on its task queue), the gateway and dashboard (one HTTP
request each), the LLM endpoint (configured, and does ``/models`` answer; the
key is sent, never shown), the bridge with its latest starts (from Temporal's
visibility: type, caller, status; never a token), and Temporal schedules with
their next run. A part that is down is reported, not raised: the command exits 0.
"""

from __future__ import annotations

import asyncio
import importlib
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import replace
from typing import Any

from copilot.config import Settings
from copilot.errors import AtcError
from copilot.estate.estate_file import estate_path, pid_alive, running_estate
from copilot.estate.plan import WORKER_MODULES, worker_modules

PROBE_TIMEOUT_S = 2.0
# A worker long-polls for about a minute; a poller last seen longer ago than this has gone.
POLLER_FRESH_S = 90.0
RECENT_BRIDGE_STARTS = 10


def http_probe(url: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """One GET: ``{"up", "http_status"}``; any HTTP answer (even 404) means it is up."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_S) as response:  # noqa: S310
            return {"up": True, "http_status": response.status}
    except urllib.error.HTTPError as exc:
        return {"up": True, "http_status": exc.code}
    except (OSError, ValueError) as exc:
        return {"up": False, "http_status": None, "detail": str(getattr(exc, "reason", exc))}


def _redact(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def llm_status(settings: Settings, env: dict[str, str]) -> dict[str, Any]:
    """The LLM endpoint: configured? its key variable set? does ``GET /models`` answer?"""
    if not settings.llm_base_url:
        return {"configured": False, "detail": "not configured (the offline planner drafts)"}
    key = env.get(settings.llm_api_key_env)
    doc: dict[str, Any] = {
        "configured": True,
        "base_url": _redact(settings.llm_base_url),
        "model": settings.llm_model,
        "key_env": settings.llm_api_key_env,
        "key_set": bool(key),
    }
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    # Credentials in the URL are neither printed nor sent (urllib cannot send them).
    probe = http_probe(doc["base_url"].rstrip("/") + "/models", headers)
    probe.pop("detail", None)  # an error text could echo the request; the status is enough
    return {**doc, "reachable": probe["up"], "http_status": probe["http_status"]}


def task_queues_of(kind: str, settings: Settings) -> list[str]:
    """The task queues a worker kind polls.

    A kind whose queues vary (one per approved version, say) lists them with
    ``status_task_queues(settings)`` in its ``workflows.<kind>.shared``; else
    its ``<kind>_task_queue`` setting; the drafting worker's is ``temporal_task_queue``.
    """
    if kind == "drafting":
        return [settings.temporal_task_queue]
    try:
        shared = importlib.import_module(f"workflows.{kind}.shared")
    except ImportError:
        shared = None
    if shared is not None and callable(getattr(shared, "status_task_queues", None)):
        return list(shared.status_task_queues(settings))
    queue = getattr(settings, f"{kind}_task_queue", None)
    return [str(queue)] if queue else []


async def _pollers(client: Any, queue: str) -> list[dict[str, Any]]:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    response = await client.workflow_service.describe_task_queue(request)
    now = time.time()
    return [
        {"identity": p.identity, "seen_s_ago": round(now - p.last_access_time.ToSeconds(), 1)}
        for p in response.pollers
        if now - p.last_access_time.ToSeconds() <= POLLER_FRESH_S
    ]


async def _workers(
    client: Any | None, settings: Settings, started: dict[str, int]
) -> list[dict[str, Any]]:
    present = dict(worker_modules())
    out = []
    for kind, module in WORKER_MODULES:
        queues = task_queues_of(kind, settings) if kind in present else []
        doc: dict[str, Any] = {
            "kind": kind,
            "module": module,
            "installed": kind in present,
            "task_queues": queues,
            "process_running": pid_alive(started[kind]) if kind in started else None,
        }
        pollers: list[dict[str, Any]] = []
        for queue in queues if client is not None else []:
            try:
                pollers += [{"task_queue": queue, **p} for p in await _pollers(client, queue)]
            except Exception as exc:  # noqa: BLE001 - reported, not raised
                doc["detail"] = f"cannot describe task queue {queue}: {exc}"
        doc.update(polling=bool(pollers), pollers=pollers)
        out.append(doc)
    return out


async def _schedules(client: Any) -> list[dict[str, Any]]:
    found = []
    async for item in await client.list_schedules():
        upcoming = item.info.next_action_times if item.info else []
        found.append(
            {
                "id": item.id,
                "atc": item.id.startswith("atc-"),
                "next_run": upcoming[0].isoformat() if upcoming else None,
            }
        )
    return sorted(found, key=lambda s: s["id"])


async def _bridge_starts(client: Any) -> list[dict[str, Any]]:
    """The latest workflows the bridge started in this namespace, newest first."""
    from copilot.bridge.identity import CALLER, CLIENT_ID, SA_CALLER

    found = []
    query = f"{SA_CALLER} IS NOT NULL"  # set on every start the bridge makes
    listed = client.list_workflows(
        query, limit=RECENT_BRIDGE_STARTS, page_size=RECENT_BRIDGE_STARTS
    )
    async for item in listed:
        attributes = item.typed_search_attributes
        found.append(
            {
                "workflow_id": item.id,
                "type": item.workflow_type,
                "caller": attributes.get(CALLER),
                "client_id": attributes.get(CLIENT_ID),
                "status": item.status.name if item.status else None,
                "started": item.start_time.isoformat() if item.start_time else None,
            }
        )
    return found


async def _temporal(settings: Settings) -> tuple[dict[str, Any], Any | None]:
    from copilot.temporal_connect import connect, describe

    doc: dict[str, Any] = {
        "address": settings.temporal_address,
        "namespace": settings.temporal_namespace,
        "connection": describe(settings),
    }
    try:
        client = await connect(settings, within_s=PROBE_TIMEOUT_S)
    except AtcError as exc:
        return {**doc, "up": False, "detail": exc.line()}, None
    return {**doc, "up": True}, client


async def _temporal_parts(settings: Settings, started: dict[str, int]) -> dict[str, Any]:
    temporal, client = await _temporal(settings)
    workers = await _workers(client, settings, started)
    parts: dict[str, Any] = {"temporal": temporal, "workers": workers}
    schedules: dict[str, Any] = {"listed": False, "items": []}
    if client is not None:
        try:
            schedules = {"listed": True, "items": await _schedules(client)}
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            schedules["detail"] = f"cannot list schedules: {exc}"
    parts["schedules"] = schedules
    if client is not None and _bridge_configured(settings):
        try:
            parts["bridge_starts"] = {"listed": True, "items": await _bridge_starts(client)}
        except Exception as exc:  # noqa: BLE001 - reported, not raised (no start yet: no attribute)
            parts["bridge_starts"] = {"listed": False, "items": [], "detail": str(exc)[:300]}
    return parts


def _bridge_configured(settings: Settings) -> bool:
    from copilot.estate.plan import bridge_config_path

    return bridge_config_path(settings).exists()


def effective_settings(settings: Settings, estate: dict[str, Any] | None) -> Settings:
    """The settings, pointed at the running estate's Temporal when none is configured."""
    temporal = (estate or {}).get("temporal") or {}
    if temporal.get("address") and settings.temporal_address == Settings().temporal_address:
        return replace(settings, temporal_address=temporal["address"])
    return settings


def collect_status(settings: Settings, env: dict[str, str]) -> dict[str, Any]:
    """The whole status document (never raises for a part that is down)."""
    data_dir = settings.data_dir.resolve()
    estate = running_estate(data_dir)
    settings = effective_settings(settings, estate)
    doc: dict[str, Any] = {
        "estate": {
            "running": estate is not None,
            "pid": estate["pid"] if estate else None,
            "file": str(estate_path(data_dir)),
        }
    }
    started = {w["kind"]: int(w["pid"]) for w in (estate or {}).get("workers") or []}
    doc.update(asyncio.run(_temporal_parts(settings, started)))
    gateway_url = ((estate or {}).get("gateway") or {}).get("url") or env.get("ATC_GATEWAY_URL")
    doc["gateway"] = (
        {"url": gateway_url, **http_probe(gateway_url + "/")}
        if gateway_url
        else {"url": None, "up": False, "detail": "not running (start it with `atc up`)"}
    )
    dashboard_url = ((estate or {}).get("dashboard") or {}).get("url")
    doc["dashboard"] = (
        {"url": dashboard_url, **http_probe(dashboard_url + "/_stcore/health")}
        if dashboard_url
        else {"url": None, "up": False, "detail": "not started by `atc up`"}
    )
    doc["llm"] = llm_status(settings, env)
    doc["bridge"] = bridge_status(settings, estate)
    starts = doc.pop("bridge_starts", None)
    if doc["bridge"]["configured"]:
        doc["bridge"]["recent_starts"] = starts or {"listed": False, "items": []}
    return doc


def bridge_status(settings: Settings, estate: dict[str, Any] | None) -> dict[str, Any]:
    """The bridge: configured (``<data_dir>/bridge.toml``)? its ``/healthz`` (Temporal reachable)?"""
    from copilot.estate.plan import bridge_config_path

    config = bridge_config_path(settings)
    url = ((estate or {}).get("bridge") or {}).get("url")
    if not config.exists() and not url:
        return {"configured": False, "detail": "not configured"}
    if not url:
        return {"configured": True, "config": str(config), "url": None, "up": False,
                "detail": "configured, not started (`atc up` starts it)"}  # fmt: skip
    fronted = ((estate or {}).get("gateway") or {}).get("bridge_url")
    return {"configured": True, "config": str(config), "url": url, "gateway_url": fronted,
            **http_probe(url + "/healthz")}  # fmt: skip
