"""Which first-party files one `atc` command runs code in: what a reader follows end to end.

    .venv/bin/python scripts/files_touched.py analyze copilot/data/sample/apigee-analytics-7d.csv.gz

Runs the command in this process under a profiler and lists every file of
``copilot/``, ``workflows/`` and ``app_pages/`` in which a function was
called (module bodies and the sub-commands' ``register`` are left out: every
command imports them). Child processes (the dry run, the sandbox check) are
not followed. The count measures the house, not the command: fewer files for
the same work means fewer places a newcomer has to open.
"""

from __future__ import annotations

import contextlib
import io
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PARTS = ("copilot", "workflows", "app_pages")


def trace(argv: list[str]) -> tuple[int, list[str]]:
    """(exit code, files) for ``atc ARGV``."""
    seen: set[str] = set()

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        code = frame.f_code
        if event != "call" or code.co_name.startswith("<") or code.co_name == "register":
            return
        path = Path(code.co_filename)
        if path.is_relative_to(ROOT) and path.relative_to(ROOT).parts[0] in PARTS:
            seen.add(str(path.relative_to(ROOT)))

    from copilot.cli import run

    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            code = run(argv)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    return code, sorted(seen)


def main() -> None:
    code, files = trace(sys.argv[1:])
    print(f"atc {' '.join(sys.argv[1:])}: exit {code}, {len(files)} files")
    for name in files:
        print(f"  {name}")


if __name__ == "__main__":
    main()
