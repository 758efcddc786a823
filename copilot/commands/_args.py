"""Argument shapes several commands share, declared once.

A command whose actions are sub-commands (``atc token mint``) is declared with
:func:`action_parsers`: run without an action it is a usage error (exit 2)
that names the actions. The ``--json`` switch and the token claims read the
same wherever they appear.
"""

from __future__ import annotations

import argparse
from functools import partial

from copilot.errors import UsageError
from copilot.scopes.tokens import DEFAULT_AUDIENCE, DEFAULT_ISSUER


def action_parsers(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    help: str,
    description: str | None = None,
) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """Register command ``name`` and return the sub-parsers its actions are added to."""
    parser = subparsers.add_parser(name, help=help, description=description)
    actions = parser.add_subparsers(
        dest=f"{name}_action", metavar="ACTION", parser_class=type(parser)
    )
    parser.set_defaults(func=partial(_no_action, name, actions))
    return actions


def _no_action(name: str, actions: argparse._SubParsersAction, args: argparse.Namespace) -> int:  # type: ignore[type-arg]
    raise UsageError(f"atc {name}: choose an action: {', '.join(actions.choices)}")


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """``--json``: print one JSON document ``{ok, error, ...}`` instead of text."""
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def add_token_claims(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    """``--issuer`` and ``--audience`` of scoped tokens (atc's own unless ``required``)."""
    if required:
        parser.add_argument("--issuer", required=True)
        parser.add_argument("--audience", required=True)
    else:
        parser.add_argument("--issuer", default=DEFAULT_ISSUER)
        parser.add_argument("--audience", default=DEFAULT_AUDIENCE)
