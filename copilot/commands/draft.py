"""``atc draft "REQUEST" --scopes S1,S2 --out DIR [--products FILE] [--logs PATH] [--json]``.

Drafts a Temporal workflow for the request that may call only what the
scopes grant: the planner (an OpenAI-compatible LLM when configured, else
the offline planner) writes a WorkflowSpec, the rules validate it, the
trusted renderer writes the code, the code rules and a dry run on the
time-skipping test server check it, and the draft is stored for review.
Writes ``spec.json``, ``workflow.py`` and ``validation.json`` into DIR.
Exit 0: valid; 3: rejected (the findings say why); 2: bad input.
With ``--temporal`` a DraftRequestWorkflow does the same work on the
configured Temporal (``atc worker`` must run) and starts the draft's
ReviewWorkflow; without it everything runs in-process, offline.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from copilot.commands._identity import current_user
from copilot.commands._output import emit_json, table
from copilot.errors import UsageError

PLANNERS = ("auto", "offline", "openai")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from copilot.scopes import DEFAULT_PRODUCTS

    parser = sub.add_parser("draft", help="draft a scoped Temporal workflow", description=__doc__)
    parser.add_argument("request", nargs="?", help="what the workflow should do, in words")
    parser.add_argument("--products", type=Path, default=DEFAULT_PRODUCTS, help="API product file")
    parser.add_argument("--scopes", help="granted scopes, comma-separated")
    parser.add_argument(
        "--out", type=Path, help="directory for spec.json, workflow.py, validation.json"
    )
    parser.add_argument(
        "--logs", type=Path, action="append", default=[], help="logs to mine for context"
    )
    parser.add_argument("--planner", choices=PLANNERS, default="auto", help="default: auto")
    parser.add_argument(
        "--repair-attempts", type=int, help="repairs after a failed draft (default 2)"
    )
    parser.add_argument(
        "--by", default=None, help="who drafts (audit trail); default: current user"
    )
    parser.add_argument("--no-store", action="store_true", help="do not record the draft")
    parser.add_argument(
        "--temporal",
        action="store_true",
        help="draft in a DraftRequestWorkflow on the configured Temporal (needs `atc worker`)",
    )
    parser.add_argument("--schema", action="store_true", help="print the WorkflowSpec JSON Schema")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.schema:
        from copilot.drafting.schema import spec_json_schema

        sys.stdout.write(json.dumps(spec_json_schema(), indent=2) + "\n")
        return 0
    if not args.request or not args.request.strip():
        raise UsageError(
            'atc draft: give the request in words, e.g. atc draft "cancel the order" ...'
        )
    if not args.scopes:
        raise UsageError("atc draft: --scopes is required (e.g. --scopes orders.read,orders.write)")
    if args.out is None:
        raise UsageError("atc draft: --out DIR is required")
    if args.repair_attempts is not None and not 0 <= args.repair_attempts <= 10:
        raise UsageError("atc draft: --repair-attempts must be between 0 and 10")
    from copilot.drafting.service import DraftJob, run_draft

    job = DraftJob(
        request=args.request.strip(),
        products=args.products,
        scopes=args.scopes,
        out=args.out,
        logs=list(args.logs),
        planner=args.planner,
        repair_attempts=args.repair_attempts,
        actor=current_user(args.by),
        store=not args.no_store,
    )
    if args.temporal:
        from workflows.authoring.starter import run_draft_temporal

        doc = run_draft_temporal(job)
    else:
        doc = run_draft(job)
    if args.json:
        error = None if doc["valid"] else _rejection(doc)
        emit_json({"ok": doc["valid"], "error": error, **doc})
    else:
        print(render_text(doc))
        review = (doc.get("temporal") or {}).get("review_workflow_id")
        if review:
            print(f"review workflow: {review} (atc drafts approve|reject ID --temporal)")
        if not doc["valid"]:
            print(_rejection(doc), file=sys.stderr)
    return 0 if doc["valid"] else 3


def _rejection(doc: dict) -> str:
    rules = sorted({f["rule_id"] for f in doc["findings"] if f["severity"] == "error"})
    return f"DraftRejected: the draft failed validation ({', '.join(rules) or 'dry run'})"


def render_text(doc: dict) -> str:
    """The human summary of a drafting run."""
    llm = doc["llm"]
    state = "VALID" if doc["valid"] else "REJECTED"
    model = f", model {llm['model']}" if llm["model"] else ""
    lines = [
        f"draft {doc['draft_id'] or '(not stored)'} v{doc['version'] or '-'}: {state}",
        f"planner: {llm['planner']}{model}; attempts {llm['attempts']}; tokens "
        f"{llm['prompt_tokens']} prompt / {llm['completion_tokens']} completion",
    ]
    lines += [f"note: {n}" for n in doc["notes"]]
    if doc["operations"]:
        rows = [
            [o["step"], o["method"], o["path_template"], o["operation"]] for o in doc["operations"]
        ]
        lines += ["", "Calls", table(rows, ["step", "method", "path", "operation"])]
    if doc["findings"]:
        rows = [[f["rule_id"], f["severity"], f["message"]] for f in doc["findings"]]
        lines += ["", "Findings", table(rows, ["rule", "severity", "message"])]
    dry = doc.get("dry_run")
    if dry:
        lines += ["", "Dry run (time-skipping test server, gateway emulator, mock backends)"]
        for s in dry["scenarios"]:
            outcome = "completed" if s["completed"] else f"FAILED: {s['error']}"
            lines.append(
                f"  {s['name']}: {' -> '.join(s['path']) or '-'} ({len(s['calls'])} calls; {outcome})"
            )
        if dry.get("error"):
            lines.append(f"  error: {dry['error']}")
    t = doc["timings_s"]
    lines += [
        "",
        f"validation {t.get('validation', 0):.2f} s (rules, render, sandbox load); "
        f"planning {t.get('planning', 0):.2f} s; dry run {t.get('dry_run', 0):.2f} s",
        "files: " + ", ".join(doc["files"].values()),
    ]
    if doc.get("suggestions"):
        lines.append(f"log patterns used as context: {len(doc['suggestions'])}")
    return "\n".join(lines)
