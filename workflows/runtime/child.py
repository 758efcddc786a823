"""How the child processes that run drafted code end: always through ``os._exit``.

temporalio's native threads may crash interpreter teardown (sdk-python#300)
and turn a clean exit into 134, so ``dryrun_child`` and ``runs.draft_child``
flush their output and leave with ``os._exit`` whatever ``main`` did.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import NoReturn


def exit_after(main: Callable[[list[str]], int], failed: int) -> NoReturn:
    """Run ``main(sys.argv[1:])`` and exit with its code (``failed`` if it raised)."""
    code = failed
    try:
        code = main(sys.argv[1:])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
