"""``atc worker``: run the drafting + review worker on the configured Temporal.

Serves ``DraftRequestWorkflow``, ``ReviewWorkflow`` and their activities
(planning, validation with the dry run, the draft store) on
``temporal_address`` / ``temporal_namespace`` / ``temporal_task_queue``
until interrupted. ``atc draft --temporal`` and
``atc drafts approve|reject|comment --temporal`` need it running. Keys are
read here, from this worker's own settings, never from workflow inputs.
"""

from __future__ import annotations

import argparse
import asyncio

from copilot.errors import TemporalError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "worker", help="run the drafting and review Temporal worker", description=__doc__
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from copilot.config import load_settings
    from workflows.drafting.worker import run_worker

    settings = load_settings()
    print(
        f"atc worker: Temporal {settings.temporal_address}, namespace "
        f"{settings.temporal_namespace}, task queue {settings.temporal_task_queue} "
        "(Ctrl-C stops)",
        flush=True,
    )
    try:
        asyncio.run(run_worker(settings))
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:  # temporalio reports connection failures as RuntimeError
        raise TemporalError(
            f"the worker cannot serve on {settings.temporal_address}: {exc}"
        ) from None
    return 0
