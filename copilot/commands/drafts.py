"""``atc drafts list|show|diff|edit|approve|reject|comment``: the review queue.

Drafts live in ``<data_dir>/drafts.sqlite3``. People change a draft by
editing its spec (``edit ID --spec FILE``): atc re-renders the code with its
trusted renderer, runs every rule and the dry run, and stores a new version.
Code is never edited here; custom code belongs in your own repository and
review. ``approve``/``reject`` name the version you reviewed and its spec
hash (``show ID`` prints both), and land only if that is still the latest
version and the draft is undecided (else exit 3 with the reason). A draft
with a Temporal review workflow is decided through that workflow's
``decide`` update (``--temporal`` puts any draft under one).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from copilot.commands._args import action_parsers, add_json_flag
from copilot.commands._identity import current_user
from copilot.commands._output import emit_json, table
from copilot.errors import InputError
from copilot.logs.printable import printable


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    actions = action_parsers(sub, "drafts", "review stored workflow drafts", __doc__)
    listing = actions.add_parser("list", help="list drafts")
    listing.add_argument("--status", choices=("draft", "approved", "rejected"))
    listing.set_defaults(func=_list)
    show = actions.add_parser("show", help="one draft: versions with hashes, findings, audit")
    show.add_argument("--code", action="store_true", help="print the version's code (read-only)")
    show.set_defaults(func=_show_draft)
    diff = actions.add_parser("diff", help="the diff a version made")
    diff.set_defaults(func=_diff)
    for p in (show, diff):
        p.add_argument("draft_id")
        p.add_argument("--version", type=int)
    decisions = [_decision_parser(actions, name) for name in ("approve", "reject", "comment")]
    edit = actions.add_parser("edit", help="store an edited spec as a new version")
    edit.add_argument("draft_id")
    edit.add_argument("--spec", type=Path, required=True, help="the edited WorkflowSpec JSON")
    edit.add_argument("--by", help="who edits (default: current user)")
    edit.set_defaults(func=_edit)
    for p in (listing, show, diff, edit, *decisions):
        add_json_flag(p)


def _decision_parser(actions: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    p = actions.add_parser(name, help=f"{name} a draft")
    p.add_argument("draft_id")
    p.add_argument("--comment", "-m", default="", required=name == "comment")
    p.add_argument("--by", help="who decides (default: current user; recorded unverified)")
    p.add_argument("--temporal", action="store_true", help="decide through a review workflow")
    if name != "comment":
        p.add_argument("--version", type=int, required=True, help="the version you reviewed")
        p.add_argument("--hash", required=True, help="its spec_hash (12+ hex characters)")
    p.set_defaults(func=_decide)
    return p


def _store():
    from copilot.config import load_settings
    from copilot.drafting.store import DraftStore

    return DraftStore.in_data_dir(load_settings().data_dir)


def _decide(args: argparse.Namespace) -> int:
    """``approve``, ``reject`` or ``comment`` (the sub-command's name is the action)."""
    from copilot.drafting.review import Reviewer, decide

    draft = decide(
        args.draft_id,
        args.drafts_action,
        version=getattr(args, "version", 0),
        spec_hash=getattr(args, "hash", ""),
        reviewer=Reviewer(current_user(args.by), verified=False),
        comment=args.comment,
        temporal=args.temporal,
    )
    if args.json:
        emit_json({"ok": True, "error": None, "draft": draft})
    else:
        print(f"draft {draft['id']}: {draft['status']}" + _approved(draft))
    return 0


def _approved(draft: dict) -> str:
    if not draft.get("approved_version"):
        return ""
    return f" (version {draft['approved_version']}, spec {draft['approved_spec_hash'][:12]})"


def _list(args: argparse.Namespace) -> int:
    rows = _store().list(args.status)
    if args.json:
        emit_json({"ok": True, "error": None, "drafts": rows})
        return 0
    print(
        table(
            [[r["id"], r["status"], r["latest"], r["name"], r["request"][:60]] for r in rows],
            ["id", "status", "versions", "name", "request"],
        )
    )
    return 0


def _draft_and_version(args: argparse.Namespace) -> tuple[dict, dict] | None:
    """The draft and the asked-for version; None once printed as JSON (``--json``)."""
    store = _store()
    draft = store.get(args.draft_id)
    version = store.version(args.draft_id, args.version)
    if args.json:
        emit_json({"ok": True, "error": None, "draft": draft, "version": version})
        return None
    return draft, version


def _show_draft(args: argparse.Namespace) -> int:
    found = _draft_and_version(args)
    if found:
        print(_show(*found, args.code))
    return 0


def _diff(args: argparse.Namespace) -> int:
    found = _draft_and_version(args)
    if found:
        sys.stdout.write(found[1]["diff"] or "(first version: no diff)\n")
    return 0


def _edit(args: argparse.Namespace) -> int:
    from copilot.drafting.service import edit_spec

    store = _store()
    try:
        text = args.spec.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {args.spec}: {exc}") from None
    outcome = edit_spec(store, args.draft_id, text, current_user(args.by))
    latest = store.version(args.draft_id, outcome.version)
    body = {
        "draft_id": args.draft_id,
        "version": outcome.version,
        "valid": outcome.valid,
        "spec_hash": latest["spec_hash"],
        "code_hash": latest["code_hash"],
        "findings": [f.to_dict() for f in outcome.findings],
    }
    if args.json:
        error = None if outcome.valid else "DraftRejected: the edit failed validation"
        emit_json({"ok": outcome.valid, "error": error, **body})
    else:
        state = "VALID" if outcome.valid else "REJECTED"
        print(f"draft {args.draft_id} v{outcome.version}: {state} (spec {latest['spec_hash']})")
        for f in outcome.findings:
            print(f"  {f.rule_id} {f.severity}: {printable(f.message)}")
    return 0 if outcome.valid else 3


def _who(entry: dict) -> str:
    """The actor of an audit entry; a person's decision says whether it was verified."""
    decided = entry["action"] in ("approved", "rejected", "comment") and entry["actor"] != "atc"
    return entry["actor"] + (" (unverified)" if decided and not entry["verified"] else "")


def _show(draft: dict, version: dict, with_code: bool) -> str:
    lines = [
        f"draft {draft['id']} ({draft['status']}{_approved(draft)}): {draft['name']}",
        f"request: {printable(draft['request'])}",
        f"scopes: {', '.join(draft['scopes'])}",
        f"version {version['version']} by {version['author']} ({version['source']}, "
        f"{'valid' if version['valid'] else 'failed validation'}); planner {version['planner']}, "
        f"model {version['model'] or '-'}",
        f"spec_hash {version['spec_hash'] or '-'}",
        f"code_hash {version['code_hash'] or '-'}",
    ]
    if draft.get("review_workflow_id"):
        lines.append(f"review workflow: {draft['review_workflow_id']}")
    if version["findings"]:
        rows = [[f["rule_id"], f["severity"], f["message"]] for f in version["findings"]]
        lines += ["", table(rows, ["rule", "severity", "message"])]
    audit = [
        [a["at"], _who(a), a["action"], a["version"], a["comment"][:60]]
        for a in draft["audit"]
    ]  # fmt: skip
    lines += ["", table(audit, ["when", "who", "what", "version", "comment"])]
    if with_code and version["code"]:
        lines += ["", version["code"]]
    return "\n".join(lines)
