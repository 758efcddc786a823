"""``atc rules list [--json]`` and ``atc rules check --scopes S --spec F``.

``list`` shows every validation rule for workflow drafts: id, name,
severity, stage and what it checks. ``check`` runs the rules on a spec:
the spec rules, then the trusted renderer and the code rules on what it
rendered (loaded only in an isolated child process). atc never checks or
runs code a person wrote: edit the spec instead. Exit 0 when no rule
reports an error, 3 when one does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from copilot.commands._args import action_parsers, add_json_flag
from copilot.commands._output import emit_json, table
from copilot.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from copilot.scopes import DEFAULT_PRODUCTS

    actions = action_parsers(sub, "rules", "validation rules for workflow drafts", __doc__)
    listing = actions.add_parser("list", help="list the rules")
    add_json_flag(listing)
    listing.set_defaults(func=_list)
    check = actions.add_parser("check", help="run the rules on a spec (and the code it renders)")
    check.add_argument("--spec", type=Path, required=True, help="a WorkflowSpec JSON file")
    check.add_argument("--scopes", required=True, help="granted scopes, comma-separated")
    check.add_argument("--products", type=Path, default=DEFAULT_PRODUCTS, help="API product file")
    add_json_flag(check)
    check.set_defaults(func=_check)


def _list(args: argparse.Namespace) -> int:
    from copilot.rules import all_rules

    rules = [
        {
            "id": r.id,
            "name": r.name,
            "severity": r.severity,
            "stages": list(r.stages),
            "summary": r.summary,
        }
        for r in all_rules()
    ]
    if args.json:
        emit_json({"ok": True, "error": None, "rules": rules})
    else:
        rows = [
            [r["id"], r["name"], r["severity"], "+".join(r["stages"]), r["summary"]] for r in rules
        ]
        print(table(rows, ["id", "name", "severity", "stage", "checks"]))
    return 0


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def _check(args: argparse.Namespace) -> int:
    from copilot.drafting.job import granted_scopes
    from copilot.drafting.validate import validate_document
    from copilot.scopes import load_catalog

    catalog = load_catalog(args.products)
    scopes = granted_scopes(catalog, args.scopes)
    validation = validate_document(_read(args.spec), catalog, scopes)
    findings = validation.findings
    errors = [f for f in findings if f.is_error]
    if args.json:
        body = {"findings": [f.to_dict() for f in findings], "timings_s": validation.seconds}
        error = None if not errors else "DraftRejected: rules failed"
        emit_json({"ok": not errors, "error": error, **body})
    else:
        if findings:
            rows = [[f.rule_id, f.severity, f.message] for f in findings]
            print(table(rows, ["rule", "severity", "message"]))
        print(f"{len(errors)} error(s), {len(findings) - len(errors)} warning(s)")
    return 3 if errors else 0
