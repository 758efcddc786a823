"""``atc run DRAFT_ID``: start the approved version of a draft on Temporal.

Only the approved version runs (``--version`` may name it, and nothing
else). Before anything starts, atc renders the code again from the stored
spec and checks that the spec and code hashes are the ones approved; any
other version, an unapproved draft or a mismatch is refused (exit 3, with
the reason). ``--input`` is a JSON object (or ``@FILE``) checked against the
spec's typed inputs (exit 2 when one is missing, unknown or mistyped). A
runs worker must be up (``python -m workflows.runs.worker``). ``--wait``
waits for the result.
"""

from __future__ import annotations

import argparse

from copilot.commands._args import add_json_flag
from copilot.commands._identity import current_user
from copilot.commands._output import emit_json, to_json


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("run", help="run an approved draft on Temporal", description=__doc__)
    parser.add_argument("draft_id")
    parser.add_argument("--version", type=int, help="the approved version (default: it)")
    parser.add_argument("--input", help="the workflow input: a JSON object, or @FILE")
    parser.add_argument("--wait", action="store_true", help="wait for the run's result")
    parser.add_argument("--by", help="who asks (default: current user)")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from copilot.runs.inputs import read_input
    from workflows.runs.starter import start_run

    out = start_run(
        args.draft_id,
        read_input(args.input),
        current_user(args.by),
        version=args.version,
        wait=args.wait,
    )
    failed = out["status"] == "FAILED"
    if args.json:
        emit_json({"ok": not failed, "error": out.pop("error", None), **out})
    else:
        print(f"run {out['run_id']}: {out['status']} ({out['workflow_type']})")
        if out.get("error"):
            print(f"error: {out['error']}")
        if out["result"] is not None:
            print(to_json(out["result"]))
    return 1 if failed else 0
