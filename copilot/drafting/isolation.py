"""Running drafted code in an isolated child process: defence in depth.

Drafted modules come only from atc's trusted renderer, yet they are still run
as if hostile: neither the Temporal workflow sandbox (a determinism aid) nor
the AST allow-list is a security boundary. :func:`run_isolated` runs a command

- with a scrubbed environment (an allow-list: no keys, tokens, ``ATC_*`` or
  proxy settings), ``HOME`` and ``TMPDIR`` fresh inside the working directory;
- under resource limits (:class:`Limits`), set in the child before it execs;
- in the strongest OS isolation this machine offers, detected at run time:
  ``bwrap`` when installed, else util-linux ``unshare`` (new network, mount,
  pid, ipc and uts namespaces; a user namespace too when not root). Inside,
  only loopback exists, the hidden paths (the data directory with its signing
  keys, ``$HOME``, ``/root``, ``/tmp``, the projects beside this one...) are
  empty tmpfs mounts, the interpreter, the venv and this repository are
  read-only, and the child has no capabilities (as real root it becomes
  ``nobody``). Without namespaces it runs with rlimits only;

and says which of these actually ran in :attr:`IsolatedRun.isolation`, as
verified by the child itself (:mod:`copilot.drafting.isolation_child`), which
fails closed: a setup step that cannot be done or proved stops the run.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from copilot.drafting.isolation_plan import (
    Limits,
    child_config,
    default_hides,
    default_readable,
    scrubbed_env,
    tool,
    wrapper_command,
)
from copilot.errors import UsageError

__all__ = [
    "IsolatedRun",
    "Limits",
    "available_backends",
    "default_hides",
    "default_readable",
    "on_wait",
    "run_isolated",
    "scrubbed_env",
    "select_backend",
]

_log = logging.getLogger(__name__)
CHILD = Path(__file__).resolve().with_name("isolation_child.py")
BACKENDS = ("bwrap", "unshare")
_OUTPUT_TAIL = 1 << 20

#: Called about once a second while :func:`run_isolated` waits (e.g. an activity heartbeat).
on_wait: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "on_wait", default=None
)


@dataclass(frozen=True)
class IsolatedRun:
    """How the child ended. ``isolation`` names what the child verified, or ``none``."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    isolation: str


def available_backends() -> dict[str, str | None]:
    """Each namespace backend mapped to ``None`` when it works here, else why not."""
    return {name: _probe(name) for name in BACKENDS}


def select_backend(requested: str = "auto") -> str:
    """``bwrap``, ``unshare`` or ``rlimits``: the requested one, or the strongest that works."""
    if requested == "rlimits":
        return requested
    if requested in BACKENDS:
        reason = _probe(requested)
        if reason:
            raise UsageError(f"isolation backend {requested} does not work here: {reason}")
        return requested
    if requested != "auto":
        raise UsageError(f"unknown isolation backend {requested!r}")
    chosen = next((name for name in BACKENDS if _probe(name) is None), "rlimits")
    if chosen == "rlimits":
        _warn_once()
    return chosen


@cache
def _warn_once() -> None:
    reasons = "; ".join(f"{name}: {why}" for name, why in available_backends().items())
    _log.warning("drafted code runs with rlimits only, without namespaces (%s)", reasons)


def run_isolated(
    argv: Sequence[str],
    *,
    workdir: Path,
    timeout_s: float,
    limits: Limits | None = None,
    readable: Sequence[Path] = (),
    hide: Sequence[Path] = (),
    backend: str = "auto",
    keep_network: bool = False,
) -> IsolatedRun:
    """Run ``argv`` isolated, in ``workdir`` (the one writable place), for at most ``timeout_s``.

    ``readable`` and ``hide`` add to :func:`default_readable` and
    :func:`default_hides`. ``backend`` forces ``bwrap``, ``unshare`` or
    ``rlimits``; ``auto`` takes the strongest that works here. On timeout, or
    when :data:`on_wait` raises, the whole process group is killed. With
    namespaces a root parent's child runs as ``nobody``, so what it must
    read has to be readable by others. ``keep_network`` leaves the child in
    the host's network namespace (a worker must reach Temporal) while every
    other namespace, the hidden paths and the limits stay; the isolation name
    then lacks ``net``.
    """
    chosen = select_backend(backend)
    return _launch(
        list(argv), chosen, Path(workdir), timeout_s, limits or Limits(), readable, hide,
        keep_network,
    )  # fmt: skip


def _launch(
    argv, backend, workdir, timeout_s, limits, readable, hide, keep_network=False
) -> IsolatedRun:
    workdir = workdir.resolve()
    home, tmp = workdir / "home", workdir / "tmp"
    home.mkdir(exist_ok=True)
    tmp.mkdir(exist_ok=True)
    status_r, status_w = os.pipe()
    try:
        cfg = child_config(backend, workdir, limits, readable, hide, status_w, keep_network)
        if cfg["drop_uid"] is not None:
            _chown_tree(workdir, cfg["drop_uid"])
        child = [sys.executable, "-I", "-S", str(CHILD), json.dumps(cfg), "--", *argv]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(
                    [*wrapper_command(cfg), *child],
                    cwd=workdir,
                    env=scrubbed_env(home, tmp),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    pass_fds=(status_w,),
                    start_new_session=True,
                )
            finally:
                os.close(status_w)
                status_w = -1
            timed_out = _wait(proc, timeout_s)
            status = _read_status(status_r)
            isolation = status.get("isolation", "none") if status.get("ok") else "none"
            code = status.get("exit", proc.returncode)  # the command's own, when it ended
            return IsolatedRun(code, _tail(out), _tail(err), timed_out, isolation)
    finally:
        os.close(status_r)
        if status_w >= 0:
            os.close(status_w)


def _chown_tree(root: Path, uid: int) -> None:
    os.chown(root, uid, uid)
    for parent, dirs, files in os.walk(root):
        for name in dirs + files:
            os.chown(os.path.join(parent, name), uid, uid, follow_symlinks=False)


def _wait(proc: subprocess.Popen, timeout_s: float) -> bool:
    """Wait for the child (calling :data:`on_wait`); kill its group; True on timeout."""
    hook = on_wait.get()
    deadline = time.monotonic() + timeout_s
    beat = time.monotonic() + 1.0
    poller = select.poll()
    try:
        pidfd = os.pidfd_open(proc.pid)
        poller.register(pidfd, select.POLLIN)
    except OSError:  # no pidfds (old kernel): poll the child's state instead
        pidfd = None
    try:
        while not _exited(proc.pid):
            now = time.monotonic()
            if now >= deadline:
                return True
            if hook is not None and now >= beat:
                hook()
                beat = now + 1.0
            pause = min(deadline, beat) - now if pidfd is not None else 0.05
            poller.poll(max(1, int(pause * 1000)))
        return False
    finally:
        # The leader is not reaped yet, so its pid (the group's id) cannot be reused.
        _kill_group(proc.pid)
        proc.wait()
        if pidfd is not None:
            os.close(pidfd)


def _exited(pid: int) -> bool:
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
        os.killpg(pgid, signal.SIGKILL)


def _read_status(fd: int) -> dict:
    """The child's status lines merged: ``ok``/``isolation``/``error``, then ``exit``."""
    os.set_blocking(fd, False)
    chunks = []
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    status: dict = {}
    for line in b"".join(chunks).decode("utf-8", errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            item = json.loads(line)
            status.update(item if isinstance(item, dict) else {})
    return status


def _tail(handle) -> str:
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - _OUTPUT_TAIL))
    return handle.read().decode("utf-8", errors="replace")


@cache
def _probe(backend: str) -> str | None:
    if tool(backend) == backend:
        return f"{backend} is not installed"
    with tempfile.TemporaryDirectory(prefix="atc-isolation-probe-") as tmp:
        argv = [sys.executable, "-I", "-S", "-c", "pass"]
        run = _launch(argv, backend, Path(tmp), 30.0, Limits(), (), ())
    if run.returncode == 0 and run.isolation.startswith("namespaces("):
        return None
    return " | ".join(run.stderr.strip().splitlines()[-2:]) or f"exit {run.returncode}"
