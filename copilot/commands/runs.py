"""``atc runs list|show|decide``: runs of approved drafts on Temporal.

``show RUN_ID`` prints the run's status, the steps it took (its ``status``
query while running, its result's path when done), every call it made
(method, operation, status code) and the result. ``decide RUN_ID STEP
approve|reject --by NAME`` answers a pending approval through the run's
validated ``decide`` update; a refused decision exits 3 with the reason.
"""

from __future__ import annotations

import argparse

from copilot.commands._args import action_parsers, add_json_flag
from copilot.commands._identity import current_user
from copilot.commands._output import emit_json, table, to_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    actions = action_parsers(sub, "runs", "runs of approved drafts", __doc__)
    listing = actions.add_parser("list", help="list runs")
    listing.add_argument("--draft", help="only runs of this draft")
    listing.set_defaults(func=_list)
    show = actions.add_parser("show", help="one run: status, steps, calls, result")
    show.add_argument("run_id")
    show.set_defaults(func=_show_run)
    decide = actions.add_parser("decide", help="answer a pending approval of a run")
    decide.set_defaults(func=_decide)
    decide.add_argument("run_id")
    decide.add_argument("step")
    decide.add_argument("outcome", choices=("approve", "reject"))
    decide.add_argument("--by", help="who decides (default: current user; recorded as given)")
    decide.add_argument("--comment", "-m", default="")
    for p in (listing, show, decide):
        add_json_flag(p)


def _list(args: argparse.Namespace) -> int:
    from workflows.runs.starter import list_runs

    rows = list_runs(args.draft)
    if args.json:
        emit_json({"ok": True, "error": None, "runs": rows})
    else:
        cells = [
            [r[k] for k in ("run_id", "status", "draft_id", "version", "started")] for r in rows
        ]
        print(table(cells, ["run", "status", "draft", "version", "started"]))
    return 0


def _show_run(args: argparse.Namespace) -> int:
    from workflows.runs.starter import show_run

    view = show_run(args.run_id)
    if args.json:
        emit_json({"ok": True, **view, "error": view["error"]})
    else:
        print(_show(view))
    return 0


def _decide(args: argparse.Namespace) -> int:
    from workflows.runs.starter import decide_run

    outcome = decide_run(args.run_id, args.step, args.outcome, current_user(args.by), args.comment)
    if args.json:
        emit_json({"ok": True, "error": None, "run_id": args.run_id, "outcome": outcome})
    else:
        print(f"run {args.run_id}: {args.step} {outcome}")
    return 0


def _show(view: dict) -> str:
    lines = [
        f"run {view['run_id']}: {view['status']} (draft {view['draft_id']} v{view['version']}, "
        f"spec {str(view['spec_hash'])[:12]}, asked by {view['requested_by']})",
        f"steps: {' -> '.join(view['steps']) or '-'}",
    ]
    if view["now"]:
        lines.append(f"now: {view['now']['kind']} {view['now']['step']}".rstrip())
    calls = [
        [c["step"], c["method"], c["operation"], c["status"] or c["error"]] for c in view["calls"]
    ]
    lines += ["", table(calls, ["step", "method", "operation", "status"])]
    if view["error"]:
        lines.append(f"error: {view['error']}")
    if view["result"] is not None:
        lines += ["", to_json(view["result"])]
    return "\n".join(lines)
