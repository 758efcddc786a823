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
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from copilot.config import Settings
from copilot.estate.logs import ActivityLogInterceptor
from copilot.temporal_connect import connect
from workflows.process import poll_until_stopped, serve_until_signalled, worker_main
from workflows.reports.activities import ReportActivities
from workflows.reports.workflows import LogAnalysisWorkflow

MAX_ACTIVITY_THREADS = 4
GRACEFUL_SHUTDOWN_S = 60.0


def reports_worker(
    client: Client, activities: ReportActivities, task_queue: str, executor: ThreadPoolExecutor
) -> Worker:
    """A worker for the report workflow and its activities."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[LogAnalysisWorkflow],
        activities=activities.all(),
        activity_executor=executor,
        max_concurrent_activities=MAX_ACTIVITY_THREADS,
        graceful_shutdown_timeout=timedelta(seconds=GRACEFUL_SHUTDOWN_S),
        interceptors=[ActivityLogInterceptor()],
    )


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Connect and serve until ``stop`` is set (SIGTERM/SIGINT set it in ``main``)."""
    client = await connect(settings)
    stop = stop or asyncio.Event()
    with ThreadPoolExecutor(MAX_ACTIVITY_THREADS) as executor:
        worker = reports_worker(
            client, ReportActivities(settings), settings.reports_task_queue, executor
        )
        await poll_until_stopped("atc reports worker", worker, stop)


async def serve(settings: Settings) -> None:
    """Run the worker until SIGTERM or SIGINT; logs are JSON lines on stderr."""
    await serve_until_signalled(run_worker, settings)


def main() -> None:
    worker_main(
        "atc reports worker",
        lambda s: (
            f"{s.temporal_address} namespace {s.temporal_namespace} "
            f"task queue {s.reports_task_queue}"
        ),
        run_worker,
    )


if __name__ == "__main__":
    main()
