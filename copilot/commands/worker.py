"""``atc worker [KIND]``: run a worker on the configured Temporal (default: drafting).

KIND is one of ``atc up``'s worker kinds (drafting, runs, reports, fanout);
``atc worker fanout`` reads analysis partitions (docs/fanout.md). Without
KIND, the drafting + review worker:

Serves ``DraftRequestWorkflow``, ``ReviewWorkflow`` and their activities
(planning, validation with the dry run, the draft store) on
``temporal_address`` / ``temporal_namespace`` / ``temporal_task_queue``
until SIGTERM or Ctrl-C, which let running activities finish first.
Registers atc's search attributes when the namespace allows it. Keys are
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
    parser.add_argument(
        "kind", nargs="?", default="drafting", choices=[k for k, _ in _kinds()],
        help="which worker (default drafting)",
    )  # fmt: skip
    parser.set_defaults(func=run)


def _kinds() -> tuple[tuple[str, str], ...]:
    from copilot.estate.plan import WORKER_MODULES

    return WORKER_MODULES


def run(args: argparse.Namespace) -> int:
    if getattr(args, "kind", "drafting") != "drafting":
        import importlib

        # Each kind's module has the process entry point (signals, JSON logs, clean exit).
        importlib.import_module(dict(_kinds())[args.kind]).main()
        return 0
    from copilot.config import load_settings
    from workflows.authoring.worker import serve

    settings = load_settings()
    print(
        f"atc worker: Temporal {settings.temporal_address}, namespace "
        f"{settings.temporal_namespace}, task queue {settings.temporal_task_queue} "
        "(Ctrl-C or SIGTERM stops after running activities finish)",
        flush=True,
    )
    try:
        asyncio.run(serve(settings))
    except RuntimeError as exc:
        raise TemporalError(f"the worker stopped: {exc}") from None
    return 0
