"""Keeping one approved version's drafted-workflow worker running in an isolated child.

:class:`DraftedChild` runs :mod:`workflows.runs.draft_child` with
:func:`copilot.drafting.isolation.run_isolated` (``keep_network``: it must
reach Temporal; the data directory, keys and homes stay hidden, the limits
apply) on a thread, touches its ``alive`` file about once a second while it
runs, restarts it if it ends, and stops it by asking (``stop``) and then by
killing its process group. What isolation ran is recorded from the ids of
the namespaces the child reports against this process's own.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import threading
import time
from pathlib import Path

from copilot.drafting.isolation import Limits, on_wait, run_isolated
from copilot.runs.approved import ApprovedVersion

_log = logging.getLogger(__name__)
CHILD_MODULE = "workflows.runs.draft_child"
STOP_GRACE_S = 5.0
# A worker lives long; its CPU bound is per child, which is restarted when it hits it.
LIMITS = Limits(cpu_s=6 * 3600)
RUN_FOREVER_S = 10.0 * 365 * 24 * 3600
NS_LABELS = {"user": "user", "net": "net", "mnt": "mount", "pid": "pid", "ipc": "ipc", "uts": "uts"}


class _Stopped(Exception):
    """Raised from the wait hook to end the child."""


def isolation_seen(report: dict) -> str:
    """What the child's reported namespace ids say it runs in, against this process."""
    mine = {n: os.stat(f"/proc/self/ns/{n}").st_ino for n in NS_LABELS}
    own = [NS_LABELS[n] for n in NS_LABELS if report.get("ns", {}).get(n) != mine[n]]
    name = f"namespaces({','.join(own)})+rlimits" if own else "rlimits-only"
    if "net" not in own:
        name += "+host-network"
    return name + ("+nobody" if report.get("uid") == 65534 else "")


class DraftedChild:
    """One version's drafted-workflow worker, isolated, restarted until stopped."""

    def __init__(
        self, approved: ApprovedVersion, task_queue: str, connect: dict, root: Path, backend: str
    ) -> None:
        self.approved, self.task_queue, self.backend = approved, task_queue, backend
        self.config = {
            **connect,
            "code": approved.code,
            "workflow_type": approved.workflow_type,
            "task_queue": task_queue,
        }
        self.root = root
        self.ready = threading.Event()
        self.isolation = ""
        self.runs = 0
        self._stop = threading.Event()
        self._stop_at = 0.0
        self._workdir = root
        self._thread = threading.Thread(target=self._loop, daemon=True, name="atc-drafted")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the child to stop, kill it after a grace period, and wait for the thread."""
        self._stop_at = time.monotonic()
        self._stop.set()
        self._thread.join(STOP_GRACE_S + 10)
        shutil.rmtree(self.root, ignore_errors=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.runs += 1
            self._workdir = self.root / f"run-{self.runs}"
            self._workdir.mkdir(parents=True)
            (self._workdir / "config.json").write_text(json.dumps(self.config), encoding="utf-8")
            (self._workdir / "alive").touch()
            token = on_wait.set(self._beat)
            try:
                run = run_isolated(
                    [sys.executable, "-I", "-m", CHILD_MODULE, "config.json"],
                    workdir=self._workdir,
                    timeout_s=RUN_FOREVER_S,
                    limits=LIMITS,
                    backend=self.backend,
                    keep_network=True,
                )
                _log.warning(
                    "drafted worker %s ended (exit %s, %s): %s",
                    self.approved.workflow_type, run.returncode, run.isolation,
                    run.stderr.strip()[-500:],
                )  # fmt: skip
            except _Stopped:
                return
            except Exception:  # noqa: BLE001 - logged; the loop starts the child again
                _log.exception("drafted worker %s failed", self.approved.workflow_type)
            finally:
                on_wait.reset(token)
            self.ready.clear()
            self._stop.wait(1.0)

    def _beat(self) -> None:
        os.utime(self._workdir / "alive")
        ready = self._workdir / "ready"
        if not self.ready.is_set() and ready.exists():
            try:
                self.isolation = isolation_seen(json.loads(ready.read_text(encoding="utf-8")))
            except ValueError:
                return  # written but not yet complete: read it on the next beat
            self.ready.set()
        if self._stop.is_set():
            (self._workdir / "stop").touch()
            if time.monotonic() - self._stop_at > STOP_GRACE_S:
                raise _Stopped
