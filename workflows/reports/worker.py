"""The reports worker: ``python -m workflows.reports.worker``.

Runs ``LogAnalysisWorkflow`` and its activities on the configured Temporal
address, namespace and ``ATC_REPORTS_TASK_QUEUE``. Activities are synchronous
(file reading, analysis, HTTP), so they run on a thread pool. SIGTERM and
SIGINT stop polling and let running activities finish (up to
``GRACEFUL_SHUTDOWN_S``); an analysis cut short anyway resumes from its
checkpoint on the next worker.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from copilot.config import Settings
from copilot.temporal_connect import connect
from workflows.process import Pool, on_queue, worker_main
from workflows.reports.activities import ReportActivities
from workflows.reports.workflows import LogAnalysisWorkflow

MAX_ACTIVITY_THREADS = 4
GRACEFUL_SHUTDOWN_S = 60.0
POOL = Pool("atc reports worker", (LogAnalysisWorkflow,), MAX_ACTIVITY_THREADS, GRACEFUL_SHUTDOWN_S)


def reports_worker(
    client: Client, activities: ReportActivities, task_queue: str, executor: ThreadPoolExecutor
) -> Worker:
    """A worker for the report workflow and its activities."""
    return POOL.worker(client, task_queue, activities.all(), executor)


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Connect and serve until ``stop`` is set (SIGTERM/SIGINT set it in ``main``)."""
    client = await connect(settings)
    await POOL.serve(client, settings.reports_task_queue, ReportActivities(settings).all(), stop)


def main() -> None:
    worker_main(POOL.name, on_queue(lambda s: s.reports_task_queue), run_worker)


if __name__ == "__main__":
    main()
