"""``atc analyze --temporal``: run the fan-out workflow and hand back the merged document."""

from __future__ import annotations

import argparse
import asyncio
import shutil
from pathlib import Path
from typing import Any

from copilot.errors import UsageError
from copilot.logs.reader import ReadOptions


def analyze_on_temporal(args: argparse.Namespace, options: ReadOptions) -> dict[str, Any]:
    """Fan the analysis out over the configured Temporal's fan-out workers; the merged body.

    The run's directory under the shared storage is removed once read; the
    rejected lines, if asked for, are appended to ``--quarantine`` first.
    """
    from copilot.config import load_settings
    from copilot.temporal_connect import connect
    from workflows.fanout.shared import ReadSpec, task_queue
    from workflows.fanout.starter import fanout_input, run_fanout

    if args.partitions < 0:
        raise UsageError("--partitions must be 0 (one a file) or more")
    settings = load_settings()
    shared = args.shared_dir or Path(settings.data_dir) / "fanout"
    spec = ReadSpec(options.fmt, options.template, list(options.csv_columns or []) or None)
    quarantine = str(Path(args.quarantine).absolute()) if args.quarantine else None
    data = fanout_input(
        args.paths, shared, partitions=args.partitions, read=spec, quarantine_file=quarantine
    )

    async def go() -> tuple[Any, dict[str, Any]]:
        client = await connect(settings)
        result, body, _handle = await run_fanout(client, data, task_queue(), check_pollers=True)
        return result, body

    result, body = asyncio.run(go())
    if args.quarantine and result.merged.rejects_path:
        args.quarantine.parent.mkdir(parents=True, exist_ok=True)
        with Path(result.merged.rejects_path).open("rb") as src, args.quarantine.open("ab") as out:
            shutil.copyfileobj(src, out)
    shutil.rmtree(result.run_dir, ignore_errors=True)
    return body
