"""``atc sample --days N --seed S --out PATH``: write realistic, deterministic Apigee traffic.

Same arguments, same bytes. The scenario's ground truth (incident window, the
backend's capacity knee, the abusive client, the existing limits) is printed
with ``--json``; ``copilot/data/sample/README.md`` describes the bundled copy.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from copilot.commands._args import add_json_flag
from copilot.commands._output import emit_json
from copilot.errors import UsageError
from copilot.logs.formats import ANALYTICS_CSV, WRITE_FORMATS


def _start(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--start must be a date like 2026-11-16, got {text!r}") from None


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "sample", help="write a realistic sample of Apigee traffic", description=__doc__
    )
    parser.add_argument("--days", type=int, default=7, help="UTC days to cover (default 7)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--out", type=Path, required=True, help="file to write (.gz: gzip)")
    parser.add_argument("--format", choices=WRITE_FORMATS, default=ANALYTICS_CSV, help="log shape")
    parser.add_argument("--rows", type=int, help="about this many records (default 21,500 a day)")
    parser.add_argument(
        "--start", type=_start, help="first UTC day, YYYY-MM-DD (default 2026-11-16)"
    )
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # numpy/pandas/pyarrow load only for this command
    from copilot.logs.sample import DEFAULT_START, iter_chunks, make_scenario
    from copilot.logs.writers import write_records

    if args.out.is_dir():
        raise UsageError(f"--out is a directory: {args.out}")
    scenario = make_scenario(
        days=args.days, seed=args.seed, start=args.start or DEFAULT_START, rows=args.rows
    )
    records = write_records(iter_chunks(scenario), args.out, args.format)
    truth = scenario.to_dict()
    if args.json:
        emit_json(
            {"path": str(args.out), "records": records, "format": args.format, "scenario": truth}
        )
    else:
        print(summary(args.out, records, args.format, truth))
    return 0


def summary(path: Path, records: int, fmt: str, truth: dict[str, Any]) -> str:
    """One line: what was written, and where the story's landmarks are."""
    incident = truth["incident"]["window"]
    return (
        f"wrote {records:,} records ({fmt}) to {path}: {truth['days']} days from {truth['start']}, "
        f"seed {truth['seed']}; incident on {truth['incident']['proxy']} "
        f"{incident['start']}..{incident['end']} (knee {truth['backend']['knee_rps']:g} req/s); "
        f"abusive client {truth['abusive']['developer_app']} ({truth['abusive']['client_id']})"
    )
