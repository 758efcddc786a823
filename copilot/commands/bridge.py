"""``atc bridge serve``: the ingress bridge from Apigee to Temporal (docs/bridge.md).

Callers' JWTs are verified against the config's JWKS, issuer and audience; their
claims pick a route (namespace, task queue, the workflow types, signals and
updates they may use). Temporal is reached as every atc command reaches it
(``ATC_TEMPORAL_ADDRESS`` and friends); no worker is needed to start workflows.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable
from pathlib import Path

from copilot.commands._args import action_parsers
from copilot.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    actions = action_parsers(
        subparsers, "bridge", "serve the Apigee -> Temporal ingress bridge", __doc__
    )
    serve = actions.add_parser("serve", help="serve the bridge until interrupted")
    serve.add_argument("--config", type=Path, required=True, help="bridge TOML (docs/bridge.md)")
    serve.add_argument("--host", default="127.0.0.1", help="address (default: loopback only)")
    serve.add_argument("--port", type=int, default=8088, help="port (0 = any free port)")
    serve.set_defaults(func=_serve)
    products = actions.add_parser(
        "products", help="write the gateway catalog (proxy + one product per route) for the bridge"
    )
    products.add_argument("--config", type=Path, required=True, help="bridge TOML")
    products.add_argument("--out", type=Path, required=True, help="products JSON to write")
    products.set_defaults(func=_products)
    artifacts = actions.add_parser(
        "artifacts", help="write the Apigee proxy bundle and API products that front the bridge"
    )
    artifacts.add_argument("--config", type=Path, required=True, help="bridge TOML")
    artifacts.add_argument("--out", type=Path, required=True, help="output directory")
    artifacts.add_argument(
        "--target-server", default="atc-bridge-backend", help="TargetServer that names the bridge"
    )
    artifacts.add_argument(
        "--jwks-uri", help="https JWKS URL for VerifyJWT (default: the config's, if https)"
    )
    artifacts.add_argument("--rate", default="30ps", help="SpikeArrest rate per caller")
    artifacts.add_argument("--env", action="append", default=[], help="product environment(s)")
    artifacts.set_defaults(func=_artifacts)
    init = actions.add_parser("init", help="write a starting bridge.toml (atc up then starts it)")
    init.add_argument("--out", type=Path, help="where (default: <data dir>/bridge.toml)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(func=_init)


def _products(args: argparse.Namespace) -> int:
    import json

    from copilot.bridge.catalog import bridge_catalog
    from copilot.bridge.config import load_config

    doc, findings = bridge_catalog(load_config(args.config))
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    _notes(findings)
    print(f"wrote {args.out}: proxy atc-bridge (/bridge), {len(doc['apiProduct'])} products")
    return 0


def _artifacts(args: argparse.Namespace) -> int:
    from copilot.bridge.artifacts import write_bridge_artifacts
    from copilot.bridge.config import load_config

    config = load_config(args.config)
    written = write_bridge_artifacts(
        config,
        args.out,
        jwks_uri=args.jwks_uri or config.jwks,
        target_server=args.target_server,
        rate=args.rate,
        environments=tuple(args.env or ["prod"]),
    )
    _notes(written.findings)
    print(f"wrote {written.bundle} ({len(written.operations)} flows) and {written.products}")
    return 0


def _notes(findings: Iterable[str]) -> None:
    """What the catalog could not express exactly, on stderr (stdout says what was written)."""
    for finding in findings:
        print(f"note: {finding}", file=sys.stderr)


def _init(args: argparse.Namespace) -> int:
    from copilot.bridge.config import default_config_text
    from copilot.config import load_settings
    from copilot.scopes.keys import ensure_keypair

    settings = load_settings()
    out = args.out or settings.data_dir / "bridge.toml"
    if out.exists() and not args.force:
        raise UsageError(f"{out} exists; edit it, or pass --force to replace it")
    keys = ensure_keypair(settings.data_dir.resolve() / "keys")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(default_config_text(keys.jwks_path, settings.temporal_namespace), "utf-8")
    print(f"wrote {out}: grant workflow types in its [[bridge.route]], then `atc up`")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from copilot.bridge.app import create_app
    from copilot.bridge.config import load_config
    from copilot.config import load_settings
    from copilot.scopes.server import serve_forever

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a TCP port")
    config = load_config(args.config)
    settings = load_settings()
    app = create_app(config, settings)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    def ready(url: str) -> None:
        print(
            f"atc bridge listening on {url} ({len(config.routes)} routes; issuer "
            f"{config.issuer}, audience {config.audience}; Temporal {settings.temporal_address})",
            flush=True,
        )

    serve_forever(app, args.host, args.port, on_ready=ready, access_log=False)
    print("atc bridge stopped", file=sys.stderr)
    return 0
