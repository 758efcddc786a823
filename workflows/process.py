"""What every atc worker process shares: run until SIGTERM/SIGINT, then exit cleanly.

``python -m workflows.<kind>.worker`` for each kind calls :func:`worker_main`
with its name, a line saying where it connects (:func:`on_queue`), and its
``run_worker(settings, stop)``; the kinds whose activities are synchronous
describe themselves as a :class:`Pool`, which builds and serves their worker. Signals set ``stop``, so the worker shuts down gracefully (running
activities may finish); logs go to stderr as JSON lines; the process ends with
``os._exit`` after flushing, because temporalio's native threads may crash
interpreter teardown (sdk-python#300) and turn a clean stop into exit 134.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from copilot.config import Settings, load_settings
from copilot.estate.logs import ActivityLogInterceptor, log_json_to_stderr

RunWorker = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Pool:
    """A worker kind whose synchronous activities run on ``threads`` threads.

    A shutdown lets running activities finish for up to ``shutdown_s``; activity
    log records carry the workflow and run ids.
    """

    name: str
    workflows: tuple[type, ...]
    threads: int
    shutdown_s: float

    def worker(
        self,
        client: Client,
        task_queue: str,
        activities: Sequence[Callable[..., Any]],
        executor: ThreadPoolExecutor,
    ) -> Worker:
        """This kind's worker, its activities on ``executor``, ``threads`` at a time."""
        return Worker(
            client,
            task_queue=task_queue,
            workflows=list(self.workflows),
            activities=list(activities),
            activity_executor=executor,
            max_concurrent_activities=self.threads,
            graceful_shutdown_timeout=timedelta(seconds=self.shutdown_s),
            interceptors=[ActivityLogInterceptor()],
        )

    async def serve(
        self,
        client: Client,
        task_queue: str,
        activities: Sequence[Callable[..., Any]],
        stop: asyncio.Event | None = None,
    ) -> None:
        """Serve this kind's worker on a pool of its own until ``stop`` is set."""
        with ThreadPoolExecutor(self.threads) as executor:
            worker = self.worker(client, task_queue, activities, executor)
            await poll_until_stopped(self.name, worker, stop or asyncio.Event())


def on_queue(queue: Callable[[Settings], str], more: str = "") -> Callable[[Settings], str]:
    """The "where it connects" line of a worker serving one task queue."""
    return lambda s: (
        f"{s.temporal_address} namespace {s.temporal_namespace} task queue {queue(s)}{more}"
    )


async def poll_until_stopped(name: str, worker: Any, stop: asyncio.Event) -> None:
    """Run ``worker`` until ``stop`` is set; leaving shuts it down gracefully."""
    async with worker:
        print(f"{name}: polling", flush=True)
        await stop.wait()
        print(f"{name}: stopping; running activities may finish", flush=True)


async def serve_until_signalled(run_worker: RunWorker, settings: Settings) -> None:
    """``run_worker(settings, stop=...)`` until SIGTERM or SIGINT sets ``stop``."""
    log_json_to_stderr()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run_worker(settings, stop=stop)


def worker_main(name: str, where: Callable[[Settings], str], run_worker: RunWorker) -> None:
    """The process entry point of worker ``name`` (``atc worker``, ``atc runs worker``...)."""
    settings = load_settings()
    print(f"{name}: {where(settings)}", flush=True)
    code = 0
    try:
        asyncio.run(serve_until_signalled(run_worker, settings))
    except Exception as exc:  # noqa: BLE001 - report, then exit through os._exit
        print(f"TemporalError: {name} stopped: {exc}", file=sys.stderr)
        code = 1
    print(f"{name}: stopped", flush=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
