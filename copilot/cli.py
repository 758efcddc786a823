"""The ``atc`` command: a thin adapter over the library.

Each module in :mod:`copilot.commands` (not starting with ``_``) defines
``register(subparsers)``, which adds its sub-command and sets ``func`` to a
handler ``(args) -> int``. Errors derived from :class:`copilot.errors.AtcError`
become one line ``Name: message`` (or ``{"ok": false, "error": ...}`` with
``--json``) and the contract's exit code; anything else exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from copilot import __version__, commands
from copilot.commands._output import emit_json
from copilot.errors import AtcError, UsageError
from copilot.logs.printable import printable


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The full ``atc`` parser with every command module registered."""
    parser = _Parser(prog="atc", description="atc, the Apigee x Temporal copilot")
    parser.add_argument("--version", action="version", version=f"atc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{commands.__name__}.{info.name}").register(sub)
    return parser


def _wants_json(argv: Sequence[str]) -> bool:
    return "--json" in argv


def run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "func", None):
            raise UsageError("no command given; try `atc --help`")
        return int(args.func(args))
    except AtcError as exc:
        return _report(exc.line(), exc.exit_code, argv)
    except KeyboardInterrupt:
        return _report("Interrupted: stopped by the user", 130, argv)
    except Exception as exc:  # noqa: BLE001 - the contract: one line, exit 1
        if os.environ.get("ATC_DEBUG"):
            raise
        return _report(f"InternalError: {type(exc).__name__}: {exc}", 1, argv)


def _report(line: str, code: int, argv: Sequence[str]) -> int:
    if _wants_json(argv):
        emit_json({"ok": False, "error": line})
    else:
        # Messages may quote names from logs or model output: never let them drive the terminal.
        print(printable(line), file=sys.stderr)
    return code


def main() -> None:
    """Console entry point.

    Ends with ``os._exit`` after flushing: commands that used a temporalio
    client or worker may otherwise crash in interpreter teardown
    (temporalio/sdk-python#300), turning finished work into exit 134/139.
    """
    code = run()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
