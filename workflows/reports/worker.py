"""The reports worker: ``python -m workflows.reports.worker``.

Runs ``LogAnalysisWorkflow`` and its activities on the configured Temporal
address, namespace and ``ATC_REPORTS_TASK_QUEUE``, and on the same queue the
fan-out workflow and activities a report's analysis runs as (a child workflow):
a reports worker alone delivers reports, and every reports worker (on any host
that sees the data directory and the logs) reads partitions. Activities are
synchronous (file reading, analysis, HTTP), so they run on a thread pool.
SIGTERM and SIGINT stop polling and let running activities finish (up to
``GRACEFUL_SHUTDOWN_S``); a partition cut short anyway is read again by the
next worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from copilot.config import Settings
from copilot.temporal_connect import connect
from workflows.fanout.activities import ALL as FANOUT_ACTIVITIES
from workflows.fanout.workflows import FanoutAnalysisWorkflow
from workflows.process import Pool, on_queue, worker_main
from workflows.reports.activities import ReportActivities
from workflows.reports.workflows import LogAnalysisWorkflow

MAX_ACTIVITY_THREADS = 4
GRACEFUL_SHUTDOWN_S = 60.0
POOL = Pool(
    "atc reports worker",
    (LogAnalysisWorkflow, FanoutAnalysisWorkflow),
    MAX_ACTIVITY_THREADS,
    GRACEFUL_SHUTDOWN_S,
)


def all_activities(activities: ReportActivities) -> list[Callable[..., Any]]:
    """The report's own activities and the fan-out's (its analysis)."""
    return [*activities.all(), *FANOUT_ACTIVITIES]


def reports_worker(
    client: Client, activities: ReportActivities, task_queue: str, executor: ThreadPoolExecutor
) -> Worker:
    """A worker for the report workflow and its activities."""
    return POOL.worker(client, task_queue, all_activities(activities), executor)


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Connect and serve until ``stop`` is set (SIGTERM/SIGINT set it in ``main``)."""
    client = await connect(settings)
    activities = all_activities(ReportActivities(settings))
    await POOL.serve(client, settings.reports_task_queue, activities, stop)


def main() -> None:
    worker_main(POOL.name, on_queue(lambda s: s.reports_task_queue), run_worker)


if __name__ == "__main__":
    main()
