"""``atc gateway serve``: the local gateway emulator on loopback.

It verifies scoped JWTs against a JWKS, enforces the API products' resource
and method rules as Apigee does, applies a SpikeArrest-style limit and
forwards to mock backends (the built-in echo when none is given).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from copilot.commands._args import action_parsers, add_token_claims
from copilot.errors import UsageError
from copilot.scopes import DEFAULT_PRODUCTS, load_catalog
from copilot.scopes.emulator import create_app
from copilot.scopes.emulator_config import EmulatorConfig
from copilot.scopes.keys import load_jwks
from copilot.scopes.server import serve_forever
from copilot.scopes.spikearrest import parse_rate


def register(subparsers: argparse._SubParsersAction) -> None:
    actions = action_parsers(subparsers, "gateway", "run the local gateway emulator")
    serve = actions.add_parser("serve", help="serve the emulator until interrupted")
    serve.add_argument("--products", type=Path, default=DEFAULT_PRODUCTS, help="API product file")
    serve.add_argument("--jwks", required=True, help="JWKS file or http(s) URL of the token keys")
    serve.add_argument("--port", type=int, default=8080, help="port (0 = any free port)")
    serve.add_argument("--host", default="127.0.0.1", help="address (default: loopback only)")
    add_token_claims(serve)
    serve.add_argument(
        "--backend",
        action="append",
        default=[],
        metavar="PROXY=URL",
        help="forward a proxy (or * for all) to a backend; default: built-in echo",
    )
    serve.add_argument(
        "--rate", default="100ps", help="SpikeArrest rate per proxy (e.g. 10ps, 30pm)"
    )
    serve.add_argument("--no-spike-arrest", action="store_true", help="disable the rate limit")
    serve.add_argument("--environment", help="only products valid in this environment")
    serve.add_argument(
        "--bridge-config", type=Path, help="also front the atc bridge of this TOML (docs/bridge.md)"
    )
    serve.add_argument("--bridge-url", help="where that bridge listens (http://127.0.0.1:8088)")
    serve.set_defaults(func=_serve)


def _backends(items: list[str]) -> dict[str, str]:
    backends = {}
    for item in items:
        name, sep, url = item.partition("=")
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise UsageError(f"--backend {item!r} must look like orders=http://127.0.0.1:9000")
        backends[name] = url
    return backends


def _serve(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a TCP port")
    rate = None if args.no_spike_arrest else args.rate
    if rate:
        parse_rate(rate)
    backends = _backends(args.backend)
    catalog, proxy_auth = load_catalog(args.products), {}
    if bool(args.bridge_config) != bool(args.bridge_url):
        raise UsageError("--bridge-config and --bridge-url go together")
    if args.bridge_config:
        from copilot.bridge.config import load_config
        from copilot.bridge.front import front_bridge

        bridge = load_config(args.bridge_config)
        catalog, fronted, proxy_auth, _ = front_bridge(args.products, bridge, args.bridge_url)
        backends.update(fronted)
    config = EmulatorConfig(
        catalog=catalog,
        jwks=load_jwks(args.jwks),
        audience=args.audience,
        issuer=args.issuer,
        backends=backends,
        spike_arrest=rate,
        environment=args.environment,
        proxy_auth=proxy_auth,
    )

    def ready(url: str) -> None:
        print(
            f"atc gateway emulator listening on {url} "
            f"({len(catalog.proxies)} proxies, {len(catalog.products)} products; "
            f"audience {args.audience}, issuer {args.issuer})",
            flush=True,
        )

    serve_forever(create_app(config), args.host, args.port, on_ready=ready)
    print("atc gateway emulator stopped", file=sys.stderr)
    return 0
