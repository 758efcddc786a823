"""``atc scopes check|list|artifacts``: what API product scopes allow, and Apigee artifacts.

Exit codes: 0 allowed / done, 3 denied (with the reason), 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from copilot.commands._args import action_parsers, add_json_flag, add_token_claims
from copilot.commands._output import emit_json, table
from copilot.errors import ScopeDenied, UsageError
from copilot.scopes import DEFAULT_PRODUCTS, check_request, load_catalog
from copilot.scopes.artifacts import granted_operations, target_servers, write_artifacts
from copilot.scopes.grants import scope_grants


def register(subparsers: argparse._SubParsersAction) -> None:
    actions = action_parsers(
        subparsers,
        "scopes",
        "check requests against API product scopes; list operations; artifacts",
    )
    _add_check(actions)
    _add_list(actions)
    _add_artifacts(actions)


def _add_check(actions: argparse._SubParsersAction) -> None:
    check = actions.add_parser("check", help="may these scopes send METHOD URL? (exit 0 yes, 3 no)")
    _products_arg(check)
    check.add_argument("--scopes", required=True, help="granted scopes, comma-separated")
    check.add_argument("--gateway", help="gateway origin, to accept absolute URLs to it")
    check.add_argument(
        "--header", action="append", default=[], metavar="'NAME: VALUE'", help="request header"
    )
    check.add_argument("--environment", help="only products valid in this environment")
    add_json_flag(check)
    check.add_argument("method", metavar="METHOD")
    check.add_argument("url", metavar="URL", help="a path such as /v1/orders/42, or a URL")
    check.set_defaults(func=_check)


def _add_list(actions: argparse._SubParsersAction) -> None:
    listing = actions.add_parser(
        "list", help="the operations a scope set allows, and every grant behind them"
    )
    _products_arg(listing)
    listing.add_argument("--scopes", help="comma-separated; default: every operation")
    add_json_flag(listing)
    listing.set_defaults(func=_list)


def _add_artifacts(actions: argparse._SubParsersAction) -> None:
    art = actions.add_parser("artifacts", help="write the Apigee API product and proxy bundles")
    _products_arg(art)
    art.add_argument("--scopes", required=True, help="granted scopes, comma-separated")
    art.add_argument("--identity", required=True, help="workflow identity (the token subject)")
    art.add_argument("--out", required=True, type=Path, help="output directory")
    art.add_argument("--jwks-uri", help="JWKS URI Apigee verifies tokens with (token kind jwt)")
    add_token_claims(art)
    art.add_argument("--env", action="append", dest="environments", help="environment (repeat)")
    art.add_argument(
        "--operation", action="append", dest="operations", help="grant only these (repeat)"
    )
    art.add_argument("--alg", default="RS256", choices=["RS256", "ES256"])
    art.add_argument(
        "--token-kind",
        default="jwt",
        choices=["jwt", "apigee"],
        help="jwt: VerifyJWT + VerifyAPIKey on the client-id claim; "
        "apigee: OAuthV2 VerifyAccessToken with the scopes",
    )
    art.add_argument(
        "--client-id-claim", default="client_id", help="JWT claim holding the app's API key"
    )
    art.add_argument(
        "--target-server",
        action="append",
        default=[],
        metavar="[PROXY=]NAME",
        help="TargetServer for every bundle, or for one proxy (repeat); default <proxy>-backend",
    )
    add_json_flag(art)
    art.set_defaults(func=_artifacts)


def _products_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--products",
        type=Path,
        default=DEFAULT_PRODUCTS,
        help="API product file ({proxies, apiProduct}); default: the bundled sample",
    )


def _headers(items: list[str]) -> dict[str, str]:
    headers = {}
    for item in items:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise UsageError(f"--header {item!r} must look like 'Name: value'")
        headers[name.strip()] = value.strip()
    return headers


def _check(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.products)
    scopes = catalog.known_scopes(args.scopes, what="--scopes")
    decision = check_request(
        catalog,
        scopes,
        args.method,
        args.url,
        _headers(args.header),
        gateway=args.gateway,
        environment=args.environment,
    )
    details = {"method": args.method, "url": args.url, "scopes": list(scopes), **decision.to_dict()}
    if args.json:
        error = None if decision.allowed else ScopeDenied(decision.reason).line()
        emit_json({"ok": decision.allowed, "error": error, **details})
        return 0 if decision.allowed else ScopeDenied.exit_code
    if not decision.allowed:
        raise ScopeDenied(decision.reason)
    print(f"allowed: {decision.reason}")
    if decision.operation is not None:
        print(f"operation: {decision.operation.id}")
    return 0


def _list(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.products)
    if args.scopes is not None:
        scopes = catalog.known_scopes(args.scopes, what="--scopes")
        operations = catalog.operations_for(scopes)
    else:
        scopes, operations = catalog.scopes, list(catalog.operations)
    grants = scope_grants(catalog, scopes)
    if args.json:
        emit_json(
            {
                "ok": True,
                "error": None,
                "products": str(args.products),
                "scopes": list(scopes),
                "operations": [op.to_dict() for op in operations],
                "grants": [g.to_dict() for g in grants],
                "findings": list(catalog.findings),
            }
        )
        return 0
    rows = [(op.id, op.method, op.full_template, " ".join(op.scopes) or "-") for op in operations]
    print(table(rows, ["operation", "method", "path", "granted by"]))
    print(f"\n{len(operations)} operation(s) for {', '.join(scopes) or 'no scopes'}")
    grant_rows = [
        (g.scope, ",".join(g.methods) or "any", g.full_path, g.product, g.origin) for g in grants
    ]
    print("\nEvery grant (what `atc scopes check` allows), by scope:")
    print(table(grant_rows, ["scope", "methods", "path", "product", "origin"]))
    for finding in catalog.findings:
        print(f"finding: {finding}", file=sys.stderr)
    return 0


def _artifacts(args: argparse.Namespace) -> int:
    if args.token_kind == "jwt" and not args.jwks_uri:
        raise UsageError("--jwks-uri is needed with --token-kind jwt")
    catalog = load_catalog(args.products)
    scopes = catalog.known_scopes(args.scopes, what="--scopes")
    proxies = {op.proxy for op in granted_operations(catalog, scopes, args.operations)}
    result = write_artifacts(
        catalog,
        args.out,
        identity=args.identity,
        scopes=scopes,
        jwks_uri=args.jwks_uri or "",
        issuer=args.issuer,
        audience=args.audience,
        environments=args.environments or ["prod"],
        operations=args.operations,
        alg=args.alg,
        targets=target_servers(sorted(proxies), args.target_server),
        token_kind=args.token_kind,
        client_id_claim=args.client_id_claim,
    )
    payload = {
        "ok": True,
        "product": result.product_name,
        "product_file": str(result.product_path),
        "bundles": {name: str(path) for name, path in result.bundles.items()},
        "operations": list(result.operations),
        "locks": result.locks,
        "token_kind": args.token_kind,
        "environments": sorted(set(args.environments or ["prod"])),
    }
    if args.json:
        emit_json(payload)
        return 0
    print(f"API product {result.product_name}: {result.product_path}")
    for name, path in result.bundles.items():
        print(f"proxy bundle {name}: {path}")
    print(f"{len(result.operations)} operation(s), and the lock that makes each exact:")
    print(table(sorted(result.locks.items()), ["operation", "lock"]))
    return 0
