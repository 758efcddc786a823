"""``atc drafts list|show|approve|reject|comment|edit|diff``: the review queue.

Drafts live in ``<data_dir>/drafts.sqlite3``. ``approve`` needs the latest
version to have passed every rule and the dry run; ``edit --code FILE``
stores edited code as a new version after the code rules and a dry run
(the code is loaded only in child processes). Every decision records who,
when and the comment. ``approve|reject|comment --temporal`` sends the
decision as a ``decide`` update to the draft's ReviewWorkflow instead (its
validator refuses bad decisions; the workflow records accepted ones).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from copilot.commands._identity import current_user
from copilot.commands._output import emit_json, table
from copilot.errors import InputError, UsageError


def _actions(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    return parser.add_subparsers(dest="drafts_action", metavar="ACTION", parser_class=type(parser))


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("drafts", help="review stored workflow drafts", description=__doc__)
    parser.set_defaults(func=_no_action)
    actions = _actions(parser)
    listing = actions.add_parser("list", help="list drafts")
    listing.add_argument("--status", choices=("draft", "approved", "rejected"))
    show = actions.add_parser("show", help="one draft: versions, findings, audit trail")
    show.add_argument("draft_id")
    show.add_argument("--version", type=int)
    show.add_argument("--code", action="store_true", help="print the version's code")
    diff = actions.add_parser("diff", help="the diff a version made")
    diff.add_argument("draft_id")
    diff.add_argument("--version", type=int)
    for name in ("approve", "reject", "comment"):
        p = actions.add_parser(name, help=f"{name} a draft")
        p.add_argument("draft_id")
        p.add_argument("--comment", "-m", default="", required=name == "comment")
        p.add_argument("--by", help="who decides (default: current user)")
        p.add_argument(
            "--temporal",
            action="store_true",
            help="send the decision to the draft's ReviewWorkflow (a `decide` update)",
        )
        p.add_argument("--version", type=int, default=0, help="with --temporal: the version")
    edit = actions.add_parser("edit", help="store edited code as a new version")
    edit.add_argument("draft_id")
    edit.add_argument("--code", type=Path, required=True)
    edit.add_argument("--by", help="who edits (default: current user)")
    for p in (
        listing,
        show,
        diff,
        edit,
        *[actions.choices[n] for n in ("approve", "reject", "comment")],
    ):
        p.add_argument("--json", action="store_true", help="print one JSON document")
        p.set_defaults(func=_run)


def _no_action(args: argparse.Namespace) -> int:
    raise UsageError(
        "atc drafts: choose an action: list, show, diff, approve, reject, comment, edit"
    )


def _store():
    from copilot.config import load_settings
    from copilot.drafting.store import DraftStore

    return DraftStore.in_data_dir(load_settings().data_dir)


def _run(args: argparse.Namespace) -> int:
    store = _store()
    action = args.drafts_action
    if action == "list":
        rows = store.list(args.status)
        if args.json:
            emit_json({"ok": True, "error": None, "drafts": rows})
        else:
            print(
                table(
                    [
                        [r["id"], r["status"], r["latest"], r["name"], r["request"][:60]]
                        for r in rows
                    ],
                    ["id", "status", "versions", "name", "request"],
                )
            )
        return 0
    if action in ("show", "diff"):
        draft = store.get(args.draft_id)
        version = store.version(args.draft_id, args.version)
        if args.json:
            emit_json({"ok": True, "error": None, "draft": draft, "version": version})
        elif action == "diff":
            sys.stdout.write(version["diff"] or "(first version: no diff)\n")
        else:
            print(_show(draft, version, args.code))
        return 0
    if action == "edit":
        from copilot.drafting.service import edit_draft

        try:
            code = args.code.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {args.code}: {exc}") from None
        number, findings, valid = edit_draft(store, args.draft_id, code, current_user(args.by))
        body = {
            "draft_id": args.draft_id,
            "version": number,
            "valid": valid,
            "findings": [f.to_dict() for f in findings],
        }
        if args.json:
            emit_json(
                {
                    "ok": valid,
                    "error": None if valid else "DraftRejected: the edit failed validation",
                    **body,
                }
            )
        else:
            print(f"draft {args.draft_id} v{number}: {'VALID' if valid else 'REJECTED'}")
            for f in findings:
                print(f"  {f.rule_id} {f.severity}: {f.message}")
        return 0 if valid else 3
    if getattr(args, "temporal", False):
        from workflows.drafting.starter import decide_temporal

        state = decide_temporal(
            args.draft_id, action, current_user(args.by), args.comment, version=args.version
        )
        draft = store.get(args.draft_id)
        if args.json:
            emit_json({"ok": True, "error": None, "draft": draft, "review": state})
        else:
            print(f"draft {draft['id']}: {draft['status']} (review workflow: {state['status']})")
        return 0
    if action == "comment":
        store.comment(args.draft_id, current_user(args.by), args.comment)
        draft = store.get(args.draft_id)
    else:
        decide = store.approve if action == "approve" else store.reject
        draft = decide(args.draft_id, current_user(args.by), args.comment)
    if args.json:
        emit_json({"ok": True, "error": None, "draft": draft})
    else:
        print(f"draft {draft['id']}: {draft['status']}")
    return 0


def _show(draft: dict, version: dict, with_code: bool) -> str:
    lines = [
        f"draft {draft['id']} ({draft['status']}): {draft['name']}",
        f"request: {draft['request']}",
        f"scopes: {', '.join(draft['scopes'])}",
        f"version {version['version']} by {version['author']} ({version['source']}, "
        f"{'valid' if version['valid'] else 'failed validation'}); planner {version['planner']}, "
        f"model {version['model'] or '-'}; prompt {(version['prompt_hash'] or '-')[:12]}, "
        f"code {(version['code_hash'] or '-')[:12]}",
    ]
    if version["findings"]:
        lines += [
            "",
            table(
                [[f["rule_id"], f["severity"], f["message"]] for f in version["findings"]],
                ["rule", "severity", "message"],
            ),
        ]
    lines += [
        "",
        table(
            [
                [a["at"], a["actor"], a["action"], a["version"], a["comment"][:60]]
                for a in draft["audit"]
            ],
            ["when", "who", "what", "version", "comment"],
        ),
    ]
    if with_code and version["code"]:
        lines += ["", version["code"]]
    return "\n".join(lines)
