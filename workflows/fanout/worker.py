"""The fan-out worker: ``python -m workflows.fanout.worker`` (``atc worker fanout``).

Serves ``FanoutAnalysisWorkflow`` and its activities on the configured
Temporal address and namespace, task queue ``ATC_FANOUT_TASK_QUEUE``
(default ``atc-fanout``). Each process reads ``ATC_FANOUT_SLOTS`` partitions
at a time (default 1: one core's worth; start more processes, here or on
other hosts, to read more). SIGTERM and SIGINT stop polling and let running
partitions finish; a partition cut short anyway is read again elsewhere.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from copilot.config import Settings
from copilot.temporal_connect import connect
from workflows.fanout.activities import ALL
from workflows.fanout.shared import SLOTS_ENV, task_queue
from workflows.fanout.workflows import FanoutAnalysisWorkflow
from workflows.process import Pool, on_queue, worker_main

NAME = "atc fanout worker"
GRACEFUL_SHUTDOWN_S = 60.0


def slots() -> int:
    return max(1, int(os.environ.get(SLOTS_ENV) or 1))


def pool(n: int) -> Pool:
    """The fan-out kind reading ``n`` partitions at a time."""
    return Pool(NAME, (FanoutAnalysisWorkflow,), n, GRACEFUL_SHUTDOWN_S)


def fanout_worker(client: Client, queue: str, executor: ThreadPoolExecutor, n: int) -> Worker:
    """A worker for the fan-out workflow and its activities, ``n`` partitions at a time."""
    return pool(n).worker(client, queue, ALL, executor)


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Connect and serve until ``stop`` is set (SIGTERM/SIGINT set it in ``main``)."""
    client = await connect(settings)
    await pool(slots()).serve(client, task_queue(), ALL, stop)


def main() -> None:
    more = f", {slots()} partition(s) at a time"
    worker_main(NAME, on_queue(lambda _s: task_queue(), more), run_worker)


if __name__ == "__main__":
    main()
