"""``atc analyze --temporal`` and ``atc suggest --temporal``: run the fan-out workflow and
hand back what it wrote (the merged document; suggest's text rendering too)."""

from __future__ import annotations

import argparse
import asyncio
import shutil
from pathlib import Path
from typing import Any

from copilot.errors import UsageError
from copilot.logs.reader import ReadOptions


def run_on_temporal(
    args: argparse.Namespace, options: ReadOptions, *, text: bool = False, **more: Any
) -> tuple[dict[str, Any], str | None]:
    """Fan the reading out over the configured Temporal's fan-out workers.

    ``more``: further ``FanoutInput`` fields (``collect``, ``headroom``, ``top``
    for suggest). Returns the merged document and, with ``text``, the text
    rendering the run wrote. The run's directory under the shared storage is
    removed once read; the rejected lines, if asked for, are appended to
    ``--quarantine`` first.
    """
    from copilot.config import load_settings
    from copilot.temporal_connect import connect
    from workflows.fanout.shared import ReadSpec, task_queue
    from workflows.fanout.starter import fanout_input, load_text, run_fanout

    if args.partitions < 0:
        raise UsageError("--partitions must be 0 (one a file) or more")
    settings = load_settings()
    shared = args.shared_dir or Path(settings.data_dir) / "fanout"
    spec = ReadSpec(options.fmt, options.template, list(options.csv_columns or []) or None)
    quarantine = str(Path(args.quarantine).absolute()) if args.quarantine else None
    data = fanout_input(
        args.paths, shared, partitions=args.partitions, read=spec, quarantine_file=quarantine,
        **more,
    )  # fmt: skip

    async def go() -> tuple[Any, dict[str, Any]]:
        client = await connect(settings)
        result, body, _handle = await run_fanout(client, data, task_queue(), check_pollers=True)
        return result, body

    result, body = asyncio.run(go())
    rendered = load_text(result) if text else None
    if args.quarantine and result.merged.rejects_path:
        args.quarantine.parent.mkdir(parents=True, exist_ok=True)
        with Path(result.merged.rejects_path).open("rb") as src, args.quarantine.open("ab") as out:
            shutil.copyfileobj(src, out)
    shutil.rmtree(result.run_dir, ignore_errors=True)
    return body, rendered


def analyze_on_temporal(args: argparse.Namespace, options: ReadOptions) -> dict[str, Any]:
    """``atc analyze --temporal``: the merged analysis document."""
    return run_on_temporal(args, options)[0]


def suggest_on_temporal(
    args: argparse.Namespace, options: ReadOptions
) -> tuple[dict[str, Any], str]:
    """``atc suggest --temporal``: the suggest document and its text, as one process prints them.

    Bundles are not part of the fan-out yet: ``--bundle`` (current limits and
    their conditions) and ``--policies-out`` are refused with it.
    """
    from copilot.throttling.run import collected_attrs

    given = {"--bundle": args.bundle, "--policies-out": args.policies_out}
    refused = [flag for flag, value in given.items() if value]
    if refused:
        raise UsageError(
            f"{' and '.join(refused)} cannot be used with --temporal yet: run `atc suggest` "
            "without --temporal for bundles (docs/fanout.md)"
        )
    body, text = run_on_temporal(
        args, options, text=True,
        collect=list(collected_attrs()), headroom=args.headroom, top=args.top,
    )  # fmt: skip
    return body, text or ""
