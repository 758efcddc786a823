"""``atc reports schedule|run|list|show|delete``: scheduled log-analysis reports on Temporal.

A report reads the log files new since its last run, analyses them like
``atc analyze`` and ``atc suggest`` (in partitions, one heartbeating activity
each on any reports worker, merged exactly: docs/fanout.md), and writes HTML, Markdown and CSV under
``<data_dir>/reports/<NAME>/<timestamp>/`` (and posts a webhook when given).
A reports worker must be running: ``python -m workflows.reports.worker``.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from copilot.commands._args import add_json_flag
from copilot.commands._output import emit_json, table
from copilot.config import load_settings
from copilot.logs.printable import printable
from copilot.reports.options import CATCHUP_WINDOW, FORMATS, SUGGESTED_EVERY


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("reports", help="scheduled log-analysis reports", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=type(parser))
    verbs.required = True
    sched = verbs.add_parser("schedule", help="create or replace a report's schedule")
    sched.add_argument("name")
    sched.add_argument("--logs", required=True, help="a directory of log files, or a glob")
    sched.add_argument("--cron", help='cron expression in UTC, e.g. "0 6 * * 1"')
    sched.add_argument("--every", help=f"fixed interval, e.g. {SUGGESTED_EVERY}, 30m")
    sched.add_argument("--formats", default=",".join(FORMATS), help=f"any of {','.join(FORMATS)}")
    sched.add_argument("--webhook", help="POST a Slack-compatible message here (http/https)")
    sched.add_argument(
        "--catchup-window", default=CATCHUP_WINDOW, help="run a missed slot within this"
    )
    sched.add_argument(
        "--partitions", type=int, default=0,
        help="read the new files in about N parts, on any reports worker (0: one per file)",
    )  # fmt: skip
    run = verbs.add_parser("run", help="run a report now")
    run.add_argument("name")
    run.add_argument("--wait", action="store_true", help="wait and print where the files are")
    verbs.add_parser("list", help="every report schedule")
    show = verbs.add_parser("show", help="a report's schedule, next run and last results")
    show.add_argument("name")
    delete = verbs.add_parser("delete", help="delete a report's schedule (files stay)")
    delete.add_argument("name")
    for p in (sched, run, show, delete, verbs.choices["list"]):
        add_json_flag(p)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    body = asyncio.run(_dispatch(args))
    if args.json:
        emit_json({"ok": True, "error": None, **body})
    else:
        print(_text(args.verb, body))
    return 0


async def _dispatch(args: argparse.Namespace) -> dict[str, Any]:
    from copilot.temporal_connect import connect  # temporalio loads only for this command
    from workflows.reports import starter

    settings = load_settings()
    if args.verb == "schedule":  # check everything before connecting
        data = starter.report_input(
            args.name, args.logs, [f.strip() for f in args.formats.split(",")], args.webhook,
            args.partitions,
        )  # fmt: skip
        spec = starter.timing(args.cron, args.every)
        catchup = starter.duration(args.catchup_window)
    client = await connect(settings)
    if args.verb == "schedule":
        sid = await starter.schedule_report(client, settings, data, spec, catchup)
        return await starter.describe_report(client, settings, args.name) | {"schedule_id": sid}
    if args.verb == "run":
        return await starter.run_now(client, args.name, wait=args.wait)
    if args.verb == "list":
        return {"reports": await starter.list_reports(client, settings)}
    if args.verb == "show":
        return await starter.describe_report(client, settings, args.name)
    await starter.delete_report(client, args.name)
    return {"name": args.name, "deleted": True}


def _text(verb: str, body: dict[str, Any]) -> str:
    if verb == "list":
        rows = [
            [r["name"], r["next_run"], (r["results"] or [{}])[0].get("dir")]
            for r in body["reports"]
        ]
        return table(rows, ["report", "next run", "last delivered"]) if rows else "no reports"
    if verb == "run" and "status" in body:
        lines = [f"{body['name']}: {body['status']} ({_read(body)})"]
        lines += [f"- {body['out_dir']}/{f}" for f in body["files"]] if body.get("out_dir") else []
        return _lines(lines)
    if verb in ("schedule", "show"):
        when = [f"cron {c}" for c in body["cron"]] + [f"every {e}" for e in body["every"]]
        lines = [
            f"{body['name']}: {', '.join(when)}; next runs {', '.join(body['next_runs']) or '-'}"
        ]
        lines += [f"- delivered {r['dir']}" for r in body["results"]] or ["- nothing delivered yet"]
        return _lines(lines)
    return printable(", ".join(f"{k}: {v}" for k, v in body.items()))


def _read(body: dict[str, Any]) -> str:
    """``1,234 records`` and, when the run read any, its partitions and retries."""
    text = f"{body['records']:,} records"
    if body.get("partitions"):
        text += f" in {body['partitions']} partition(s)"
        if body.get("partitions_retried"):
            text += f", {body['partitions_retried']} read again"
    return text


def _lines(lines: list[str]) -> str:
    # Each line escaped on its own: paths may hold control characters, the breaks are ours.
    return "\n".join(printable(line) for line in lines)
