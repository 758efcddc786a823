"""The drafting + review worker: ``python -m workflows.drafting.worker`` (or ``atc worker``).

Runs ``DraftRequestWorkflow``, ``ReviewWorkflow`` and their activities on
the configured Temporal address, namespace and task queue. Activities are
synchronous (planner, dry-run harness, SQLite), so they run on a thread pool.
"""

from __future__ import annotations

import asyncio
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from copilot.config import Settings, load_settings
from workflows.drafting.activities import DraftingActivities
from workflows.drafting.workflows import DraftRequestWorkflow, ReviewWorkflow

MAX_ACTIVITY_THREADS = 8


def drafting_worker(
    client: Client,
    activities: DraftingActivities,
    task_queue: str,
    executor: ThreadPoolExecutor,
) -> Worker:
    """A worker for both workflows and all their activities."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[DraftRequestWorkflow, ReviewWorkflow],
        activities=activities.all(),
        activity_executor=executor,
        max_concurrent_activities=MAX_ACTIVITY_THREADS,
    )


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Connect and serve until cancelled (or ``stop`` is set)."""
    client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
    with ThreadPoolExecutor(MAX_ACTIVITY_THREADS) as executor:
        worker = drafting_worker(
            client, DraftingActivities(settings), settings.temporal_task_queue, executor
        )
        async with worker:
            await (stop.wait() if stop else asyncio.Event().wait())


def main() -> None:
    settings = load_settings()
    print(
        f"atc worker: {settings.temporal_address} namespace {settings.temporal_namespace} "
        f"task queue {settings.temporal_task_queue}",
        flush=True,
    )
    code = 0
    try:
        asyncio.run(run_worker(settings))
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # noqa: BLE001 - report, then exit through os._exit
        print(f"TemporalError: the worker stopped: {exc}", file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # temporalio's native threads may crash interpreter teardown (sdk-python#300).
    os._exit(code)


if __name__ == "__main__":
    main()
