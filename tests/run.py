"""Run the test suite, robust to the temporalio SDK's crash at interpreter exit.

The SDK's native threads can abort the interpreter *after* pytest has finished
(temporalio/sdk-python#300; exit codes 134/139). ``tests/conftest.py`` records
pytest's own exit status in a file and ends the process with ``os._exit``.
Here we trust that recorded status only when the process died by a signal
after recording it; any other exit code is passed through unchanged, so a
real failure is never masked.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

CRASH_CODES = {134, 139, -6, -11}


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        status_file = os.path.join(tmp, "status")
        env = dict(os.environ, ATC_PYTEST_STATUS_FILE=status_file)
        proc = subprocess.run([sys.executable, "-m", "pytest", *argv], env=env)
        code = proc.returncode
        if code in CRASH_CODES and os.path.exists(status_file):
            with open(status_file, encoding="utf-8") as fh:
                recorded = int(fh.read().strip() or 1)
            print(
                f"tests.run: interpreter crashed at exit (code {code}) after pytest "
                f"finished with status {recorded}; using pytest's status",
                file=sys.stderr,
            )
            return recorded
        return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
