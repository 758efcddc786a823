"""``atc suggest PATH... [--json] [--policies-out DIR] [--bundle DIR_OR_ZIP] [--headroom X]
[--temporal [--partitions N] [--shared-dir DIR]]``: SpikeArrest and Quota suggestions with their
evidence, replay impact and forecast. ``--temporal`` fans the reading out over the ``atc worker
fanout`` processes of the configured Temporal (docs/fanout.md); the result is the same."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copilot.commands._output import emit_json, table
from copilot.commands.analyze import add_fanout_arguments, add_read_arguments, read_options
from copilot.errors import UsageError
from copilot.logs.printable import printable
from copilot.throttling.options import (
    DEFAULT_HEADROOM,
    HEADROOM_RANGE,
    REJECT_SHARE,
    check_headroom,
)

if TYPE_CHECKING:
    from copilot.throttling.policies_bundle import BundleOptions
    from copilot.throttling.run import SuggestRun


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "suggest", help="suggest SpikeArrest and Quota limits from Apigee logs", description=__doc__
    )
    add_read_arguments(parser)
    parser.add_argument(
        "--policies-out", type=Path, metavar="DIR", help="write the policy XML as proxy bundles"
    )
    parser.add_argument(
        "--bundle",
        action="append",
        type=Path,
        default=[],
        metavar="DIR_OR_ZIP",
        help="a proxy bundle (apiproxy directory, a folder of bundles, or a zip) holding the "
        "current policies; repeatable",
    )
    parser.add_argument(
        "--headroom",
        type=float,
        default=DEFAULT_HEADROOM,
        help=f"multiplier on the forecast peak ({HEADROOM_RANGE})",
    )
    out = parser.add_argument_group("--policies-out bundles")
    out.add_argument(
        "--verify",
        choices=["apikey", "jwt", "none"],
        default="apikey",
        help="how the bundle sets client_id before per-app steps: VerifyAPIKey on the request's "
        "key, VerifyJWT then VerifyAPIKey on the token's client-id claim, or none (your proxy "
        "already verifies)",
    )
    out.add_argument("--key-ref", default=None, help="flow variable holding the API key (apikey)")
    out.add_argument("--jwks-uri", help="https JWKS URL VerifyJWT uses (jwt)")
    out.add_argument("--issuer", help="token issuer (jwt)")
    out.add_argument("--audience", help="token audience (jwt)")
    out.add_argument(
        "--client-id-claim", default="client_id", help="claim holding the app key (jwt)"
    )
    out.add_argument("--target-server", help="TargetServer name (default <proxy>-backend)")
    parser.add_argument("--top", type=int, default=40, help="rows per table in the text output")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    add_fanout_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.temporal:
        return _run_temporal(args)
    from copilot.throttling.policies_bundle import write_bundles  # heavy imports only here
    from copilot.throttling.run import suggest_paths

    check_headroom(args.headroom)
    result = suggest_paths(
        args.paths,
        read_options(args),
        headroom=args.headroom,
        bundles=args.bundle,
        quarantine_path=args.quarantine,
        bundle_options=bundle_options(args),
    )
    written: dict[str, Path] = {}
    if args.policies_out:
        written = write_bundles(result.report.bundles, args.policies_out)
    if args.json:
        body = result.to_dict()
        body["policies_out"] = {proxy: str(path) for proxy, path in written.items()}
        emit_json({"ok": True, "error": None, **body})
    else:
        print(render_text(result, args.top, written))
    return 0


def _run_temporal(args: argparse.Namespace) -> int:
    from copilot.fanout.cli import suggest_on_temporal

    check_headroom(args.headroom)
    body, text = suggest_on_temporal(args, read_options(args))
    if args.json:
        emit_json({"ok": True, "error": None, **body})
    else:
        print(text)
    return 0


def bundle_options(args: argparse.Namespace) -> BundleOptions:
    """The ``--policies-out`` options; ``--verify jwt`` needs the token's JWKS, issuer, audience."""
    from copilot.throttling.policies_bundle import DEFAULT_KEY_REF, BundleOptions, JwtCheck

    jwt = None
    if args.verify == "jwt":
        missing = [f for f in ("jwks_uri", "issuer", "audience") if not getattr(args, f)]
        if missing:
            flags = ", ".join("--" + f.replace("_", "-") for f in missing)
            raise UsageError(f"--verify jwt needs {flags}")
        jwt = JwtCheck(args.jwks_uri, args.issuer, args.audience, args.client_id_claim)
    return BundleOptions(args.verify, args.key_ref or DEFAULT_KEY_REF, jwt, args.target_server)


def render_text(result: SuggestRun, top: int, written: dict[str, Path]) -> str:
    """The human summary: suggestions, conflicts, abusive clients, exclusions, forecast.

    Names come from the logs, so every line that holds one is escaped (tables
    escape their cells): a control character shows as an escape, never acts.
    """
    rep = result.report
    q = result.quarantine
    parts = [
        f"{q.records:,} records ({q.rejected:,} rejected lines) from {rep.start} to {rep.end}; "
        f"headroom {rep.headroom:g}; rule: at most {REJECT_SHARE:.1%} of healthy legitimate "
        "requests rejected",
        "",
        "Suggestions",
        _suggestions_table(rep, top),
    ]
    parts += _findings_sections(rep, top)
    parts += ["", "Capacity knees"]
    parts.append(
        table([[k.proxy, k.rpm, k.reason] for k in rep.knees], ["proxy", "req/min", "why"])
    )
    parts += ["", "Forecast of next week's busiest minute (req/min)", _forecast_table(rep)]
    parts += _current_sections(rep, top)
    findings = [t.to_dict() for t in rep.too_tight] + [f.to_dict() for f in rep.flags]
    findings += [r.to_dict() for r in rep.retry_storms]
    if findings:
        parts += ["", "Findings"] + [printable(f"- {_finding(f)}") for f in findings]
    if written:
        parts += ["", "Policy bundles written"]
        parts += [printable(f"- {p}: {d}") for p, d in written.items()]
    return "\n".join(parts)


def _suggestions_table(rep: Any, top: int) -> str:
    rows = [
        [
            s.target,
            s.policy,
            None if s.current is None else s.current.summary(),
            s.value_text(),
            s.replay.rejected,
            f"{s.replay.share:.3%}",
            s.confidence,
            s.status,
        ]
        for s in rep.suggestions[:top]
    ]
    headers = ["target", "policy", "current", "suggested", "replay rejects", "legit",
               "confidence", "status"]  # fmt: skip
    return table(rows, headers)


def _findings_sections(rep: Any, top: int) -> list[str]:
    """Conflicts, abusive clients and excluded windows."""
    parts: list[str] = []
    conflicts = [s for s in rep.suggestions if s.conflict]
    if conflicts:
        parts += ["", "Conflicts"] + [printable(f"- {s.target}: {s.conflict}") for s in conflicts]
    if rep.abusive:
        parts += ["", "Abusive clients (named, sized from their cohort)"]
        parts += [printable(f"- {a.app} ({a.client_id}) on {a.proxy}: {'; '.join(a.reasons)}")
                  for a in rep.abusive]  # fmt: skip
    if rep.excluded:
        rows = [[w.proxy, w.kind, w.start, w.end, w.requests, w.reason] for w in rep.excluded[:top]]
        parts += ["", f"Excluded windows ({len(rep.excluded)})"]
        parts.append(table(rows, ["proxy", "kind", "start", "end", "requests", "why"]))
    return parts


def _forecast_table(rep: Any) -> str:
    rows = [
        [
            f.kind,
            f.target,
            f.method,
            f.naive_error,
            f.chosen_error,
            round(f.peak, 1),
            "needs throttling next week"
            if any(x.about(f.kind, f.target) for x in rep.flags)
            else "",
        ]
        for f in rep.forecasts
    ]
    return table(rows, ["kind", "target", "method", "naive MAE", "chosen MAE", "peak", "flag"])


def _current_sections(rep: Any, top: int) -> list[str]:
    """The bundle's limits replayed where they run, and what atc could not model."""
    parts: list[str] = []
    if rep.current_replays:
        rows = [
            [
                e["proxy"],
                f"{e['bundle']}/{e['policy']}",
                e["identity"],
                e["value"],
                e["rows"],
                e["unknown_rows"],
                "n/a" if e["rejected"] is None else e["rejected"],
                "n/a"
                if e["legit_healthy_rejected_share"] is None
                else f"{e['legit_healthy_rejected_share']:.3%}",
                "; ".join(e["notes"]),
            ]
            for e in rep.current_replays[:top]
        ]
        headers = ["proxy", "policy", "per", "value", "replayed", "unknown", "rejects", "legit",
                   "notes"]  # fmt: skip
        parts += ["", "Current limits replayed (where their conditions hold)", table(rows, headers)]
    if rep.warnings:
        parts += ["", "Warnings"] + [printable(f"- {w}") for w in rep.warnings]
    if rep.unmodelled:
        parts += ["", "Not modelled"]
        parts += [
            printable(f"- {u['bundle']}/{u['policy'] or '-'}: {u['reason']}")
            for u in rep.unmodelled
        ]
    return parts


def _finding(f: dict[str, Any]) -> str:
    if f["finding"] == "limit likely too tight":
        return (
            f"limit likely too tight: {', '.join(f['policies']) or 'a limit'} refused "
            f"{f['refused']} of {f['app']}'s {f['demand']} requests on {f['proxy']} "
            f"({f['share']:.1%}) in healthy time"
        )
    if f["finding"] == "retries without backoff":
        return f"retries without backoff on {f['proxy']}: {f['advice']}"
    odds = f" (p90 {f.get('forecast_p90_rpm')}, P = {f.get('probability')})"
    if f.get("against") == "capacity unknown":
        return (
            f"{f['finding']}: {f['target']} is forecast at {f['forecast_peak_rpm']} req/min{odds}, "
            "past the highest healthy load seen, and no knee was found"
        )
    return (
        f"needs throttling next week: {f['target']} is forecast at {f['forecast_peak_rpm']} "
        f"req/min{odds}, above its {f['against']} ({f['limit_rpm']})"
    )
