"""The drafting + review worker: ``python -m workflows.authoring.worker`` (or ``atc worker``).

Runs ``DraftRequestWorkflow``, ``ReviewWorkflow`` and their activities on
the configured Temporal address, namespace and task queue. Activities are
synchronous (planner, dry-run harness, SQLite), so they run on a thread pool.
SIGTERM and SIGINT stop polling and let running activities finish (up to
``GRACEFUL_SHUTDOWN_S``), so a finished LLM call is reported, not thrown away.
It connects through :func:`copilot.temporal_connect.connect` (TLS, API key,
metrics with ``ATC_METRICS_PORT``); log records, with the workflow and run
ids the SDK's loggers attach, go to stderr as JSON lines.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from copilot.config import Settings
from copilot.temporal_connect import connect
from workflows.authoring.activities import DraftingActivities
from workflows.authoring.review_attrs import ensure_search_attributes
from workflows.authoring.workflows import DraftRequestWorkflow, ReviewWorkflow
from workflows.process import Pool, on_queue, serve_until_signalled, worker_main

MAX_ACTIVITY_THREADS = 8
GRACEFUL_SHUTDOWN_S = 120.0
POOL = Pool(
    "atc worker", (DraftRequestWorkflow, ReviewWorkflow), MAX_ACTIVITY_THREADS, GRACEFUL_SHUTDOWN_S
)


def drafting_worker(
    client: Client,
    activities: DraftingActivities,
    task_queue: str,
    executor: ThreadPoolExecutor,
) -> Worker:
    """A worker for both workflows and all their activities."""
    return POOL.worker(client, task_queue, activities.all(), executor)


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Connect and serve until ``stop`` is set (SIGTERM/SIGINT set it in ``main``)."""
    client = await connect(settings)
    registered = await ensure_search_attributes(client, settings.temporal_namespace)
    print(f"atc worker: search attributes {'registered' if registered else 'unavailable'}")
    activities = DraftingActivities(settings).all()
    await POOL.serve(client, settings.temporal_task_queue, activities, stop)


async def serve(settings: Settings) -> None:
    """Run the worker until SIGTERM or SIGINT, then shut down gracefully."""
    await serve_until_signalled(run_worker, settings)


def main() -> None:
    worker_main(POOL.name, on_queue(lambda s: s.temporal_task_queue), run_worker)


if __name__ == "__main__":
    main()
