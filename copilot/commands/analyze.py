"""``atc analyze PATH... [--json] [--temporal [--partitions N] [--shared-dir DIR]]``: what the
gateway saw, per proxy, app and endpoint. ``--temporal`` fans the reading out over the
``atc worker fanout`` processes of the configured Temporal (docs/fanout.md); the result is
the same."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copilot.commands._output import emit_json, table
from copilot.logs.detect import FORMATS
from copilot.logs.reader import ReadOptions

if TYPE_CHECKING:
    from copilot.pipeline import AnalysisRun


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("analyze", help="analyse Apigee access logs", description=__doc__)
    add_read_arguments(parser)
    parser.add_argument("--top", type=int, default=10, help="rows per table in the text output")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    add_fanout_arguments(parser)
    parser.set_defaults(func=run)


def add_fanout_arguments(parser: argparse.ArgumentParser) -> None:
    """``--temporal``, ``--partitions``, ``--shared-dir``: analyze's and suggest's fan-out."""
    fan = parser.add_argument_group("fan-out over Temporal workers (docs/fanout.md)")
    fan.add_argument(
        "--temporal", action="store_true", help="read partitions on `atc worker fanout` processes"
    )
    fan.add_argument(
        "--partitions", type=int, default=0, help="about this many partitions (default: one a file)"
    )
    fan.add_argument(
        "--shared-dir", type=Path, help="storage every worker sees (default: DATA_DIR/fanout)"
    )


def add_read_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by every command that reads logs."""
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="log files")
    parser.add_argument("--format", choices=FORMATS, help="force a format instead of detecting it")
    parser.add_argument(
        "--template",
        help="MessageLogging message template of the logs (syslog, textPayload, or the "
        "jsonPayload key names)",
    )
    parser.add_argument(
        "--template-file",
        type=Path,
        help="read the template from a file: the message, or the MessageLogging policy XML",
    )
    parser.add_argument("--columns", help="column names of a headerless CSV, comma-separated")
    parser.add_argument(
        "--quarantine", type=Path, help="write every rejected line to this JSON-lines file"
    )


def read_options(args: argparse.Namespace) -> ReadOptions:
    """ReadOptions from the shared arguments."""
    from copilot.logs.templates import load_template

    template = load_template(args.template) if args.template else None
    if args.template_file:
        template = load_template(args.template_file.read_text(encoding="utf-8"))
    columns = tuple(c.strip() for c in args.columns.split(",")) if args.columns else None
    return ReadOptions(fmt=args.format, template=template, csv_columns=columns)


def run(args: argparse.Namespace) -> int:
    if args.temporal:
        return _run_temporal(args)
    from copilot.pipeline import analyze_paths  # pandas/pyarrow load only for this command

    result = analyze_paths(args.paths, read_options(args), args.quarantine)
    if args.json:
        emit_json({"ok": True, "error": None, **result.to_dict()})
    else:
        print(render_text(result, args.top))
    return 0


def _run_temporal(args: argparse.Namespace) -> int:
    from copilot.fanout.cli import analyze_on_temporal

    body = analyze_on_temporal(args, read_options(args))
    if args.json:
        emit_json({"ok": True, "error": None, **body})
    else:
        print(render_text(_Body(body), args.top))
    return 0


class _Body:
    """An analysis document standing in for the AnalysisRun it was made of."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def to_dict(self) -> dict[str, Any]:
        return self.body


def render_text(result: AnalysisRun | _Body, top: int) -> str:
    """The human summary: totals, then a table per dimension, anomalies and rejects."""
    body = result.to_dict()
    span = body.get("time_range") or {}
    parts = [
        f"{body['records']:,} records, {body['rejected']:,} rejected "
        f"({body['lines_read']:,} lines read) from {span.get('start')} to {span.get('end')}",
        "",
        "Proxies",
        _group_table(body["proxies"], ["proxy"], top),
        "",
        "Top apps",
        _group_table(body["apps"], ["app"], top),
        "",
        "Endpoints",
        body.get("unavailable", {}).get("endpoints")
        or _group_table(body["endpoints"], ["proxy", "verb", "path"], top),
    ]
    classes = body.get("status_classes") or {}
    if classes:
        parts += ["", "Status classes: " + ", ".join(f"{k} {v:,}" for k, v in classes.items())]
    parts += [f"Note: {note}" for note in body.get("notes") or []]
    anomalies = body.get("anomalies") or []
    parts += ["", f"Anomalies ({len(anomalies)})"]
    if anomalies:
        rows = [
            [
                a.get("proxy"),
                a.get("metric"),
                a.get("start"),
                a.get("end"),
                a.get("peak_value"),
                a.get("baseline"),
                a.get("severity"),
                _drivers(a),
            ]
            for a in anomalies[:top]
        ]
        parts.append(
            table(
                rows,
                ["proxy", "metric", "start", "end", "peak", "baseline", "severity", "driven by"],
            )
        )
    samples = body["quarantine"]["samples"]
    if samples:
        parts += ["", f"Rejected lines (first {len(samples)} of {body['rejected']:,})"]
        parts.append(
            table(
                [[s["source"], s["line"], s["reason"]] for s in samples], ["file", "line", "reason"]
            )
        )
    return "\n".join(parts)


def _group_table(groups: list[dict[str, Any]], keys: list[str], top: int) -> str:
    rows = []
    for g in sorted(groups, key=lambda g: -g.get("requests", 0))[:top]:
        errors, rates = g.get("errors", {}), g.get("error_rates", {})
        rps, latency = g.get("per_second", {}), g.get("latency_ms", {}).get("total", {})
        rows.append(
            [
                *(g.get(k) for k in keys),
                g.get("requests"),
                rps.get("p99"),
                rps.get("max"),
                _pct(rates.get("4xx")),
                _pct(rates.get("5xx")),
                errors.get("gateway_429"),
                errors.get("backend_429"),
                latency.get("p50"),
                latency.get("p95"),
                latency.get("p99"),
            ]
        )
    headers = [
        *keys,
        "requests",
        "rps p99",
        "rps max",
        "4xx",
        "5xx",
        "gw 429",
        "be 429",
        "p50 ms",
        "p95 ms",
        "p99 ms",
    ]
    return table(rows, headers)


def _pct(value: float | None) -> str | None:
    return None if value is None else f"{100 * value:.2f}%"


def _drivers(anomaly: dict[str, Any]) -> str:
    clients = anomaly.get("drivers") or anomaly.get("clients") or []
    return ", ".join(str(c.get("app") or c.get("client_id") or c) for c in clients[:3])
