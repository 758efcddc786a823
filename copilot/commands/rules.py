"""``atc rules list [--json]`` and ``atc rules check --scopes S [--spec F] [--code F]``.

``list`` shows every validation rule for workflow drafts: id, name,
severity, stage and what it checks. ``check`` runs the rules on a spec
and/or a (possibly hand-edited) module; the module is loaded only in a
child process under the Temporal sandbox. Exit 0 when no rule reports an
error, 3 when one does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from copilot.commands._output import emit_json, table
from copilot.errors import InputError, UsageError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from copilot.scopes import DEFAULT_PRODUCTS

    parser = sub.add_parser(
        "rules", help="validation rules for workflow drafts", description=__doc__
    )
    parser.set_defaults(func=_no_action)
    actions = parser.add_subparsers(
        dest="rules_action", metavar="ACTION", parser_class=type(parser)
    )
    listing = actions.add_parser("list", help="list the rules")
    listing.add_argument("--json", action="store_true", help="print one JSON document")
    listing.set_defaults(func=_list)
    check = actions.add_parser("check", help="run the rules on a spec and/or code")
    check.add_argument("--spec", type=Path, help="a WorkflowSpec JSON file")
    check.add_argument("--code", type=Path, help="a drafted workflow module (rendered or edited)")
    check.add_argument("--scopes", required=True, help="granted scopes, comma-separated")
    check.add_argument("--products", type=Path, default=DEFAULT_PRODUCTS, help="API product file")
    check.add_argument("--json", action="store_true", help="print one JSON document")
    check.set_defaults(func=_check)


def _no_action(args: argparse.Namespace) -> int:
    raise UsageError("atc rules: choose an action: list, check")


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
    from copilot.drafting.service import granted_scopes
    from copilot.drafting.validate import validate_code, validate_document
    from copilot.scopes import load_catalog

    if args.spec is None and args.code is None:
        raise UsageError("atc rules check: give --spec, --code or both")
    catalog = load_catalog(args.products)
    scopes = granted_scopes(catalog, args.scopes)
    findings = []
    seconds = {}
    if args.spec is not None:
        validation = validate_document(_read(args.spec), catalog, scopes, sandbox=args.code is None)
        # With --code, the rendered code is not what runs: check the given code instead.
        findings += [f for f in validation.findings if args.code is None or f.rule_id < "WF100"]
        seconds.update(validation.seconds)
        spec = validation.spec
    else:
        spec = None
    if args.code is not None:
        findings += validate_code(_read(args.code), catalog, scopes, spec=spec)
    errors = [f for f in findings if f.is_error]
    if args.json:
        body = {"findings": [f.to_dict() for f in findings], "timings_s": seconds}
        emit_json(
            {
                "ok": not errors,
                "error": None if not errors else "DraftRejected: rules failed",
                **body,
            }
        )
    else:
        if findings:
            print(
                table(
                    [[f.rule_id, f.severity, f.message] for f in findings],
                    ["rule", "severity", "message"],
                )
            )
        print(f"{len(errors)} error(s), {len(findings) - len(errors)} warning(s)")
    return 3 if errors else 0
