"""What an isolated child is given: environment, limits, paths, and the wrapper command.

Plain functions of :mod:`copilot.drafting.isolation`, kept apart so the
policy (what is hidden, what stays readable, how tight the limits are) reads
in one place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from copilot.config import load_settings
from copilot.errors import ConfigError, UsageError

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534
NAMESPACES = ("net", "mnt", "pid", "ipc", "uts")
SYSTEM_PATH = "/usr/bin:/bin"


@dataclass(frozen=True)
class Limits:
    """Per-process resource limits of the child (sizes in bytes).

    Measured for a dry run on two CPUs: the Temporal test server peaks near
    1.3 GB of address space and 0.3 GB of data, Python with temporalio near
    0.8 GB and 0.1 GB; the bounds leave a wide margin. ``cpus`` pins the child
    to that many CPUs, which also keeps those numbers from growing with the
    machine (both size their thread pools by the CPUs they may use).
    ``nproc`` counts every process and thread of the child's user: as root it
    is not enforced, which is one reason a root parent's child runs as
    ``nobody`` when namespaces are available.
    """

    cpu_s: int = 120
    address_space: int = 8 << 30
    data: int = 2 << 30
    file_size: int = 64 << 20
    nproc: int = 512
    nofile: int = 256
    cpus: int = 2


def scrubbed_env(home: Path | None = None, tmp: Path | None = None) -> dict[str, str]:
    """The child's whole environment: enough for Python and the test server, nothing else."""
    lang = os.environ.get("LANG") or "C.UTF-8"
    env = {
        "PATH": f"{Path(sys.executable).parent}:{SYSTEM_PATH}",
        "LANG": lang,
        "LC_ALL": os.environ.get("LC_ALL") or lang,
        # glibc reserves address space per thread arena; a few arenas keep it bounded.
        "MALLOC_ARENA_MAX": "2",
    }
    if home is not None:
        env["HOME"] = str(home)
    if tmp is not None:
        env["TMPDIR"] = str(tmp)
    return env


def default_readable() -> list[Path]:
    """What every child must read: the interpreter, the venv and this repository."""
    prefixes = (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)
    return [*(Path(p) for p in prefixes), REPO]


def default_hides() -> list[Path]:
    """Paths no child may read: keys, homes, temporary files, sockets, other projects."""
    hides = [Path.home(), Path("/root"), Path("/home"), REPO / ".atc", Path(".atc")]
    hides += [Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")]
    hides += [Path("/run"), Path("/var/run")]  # daemons' unix sockets ignore network namespaces
    if (REPO / "pyproject.toml").exists() and REPO.parent != Path("/"):
        hides.append(REPO.parent)  # a source checkout: the projects beside it
    # Unreadable settings leave the data directory unknown: .atc beside the repository
    # and in the working directory stay hidden all the same.
    with contextlib.suppress(ConfigError):
        hides.append(load_settings().data_dir)
    return hides


def _resolved(paths: Iterable[Path]) -> list[str]:
    out = {str(Path(p).resolve()) for p in paths}
    return sorted(p for p in out if os.path.lexists(p))


def child_config(
    backend: str,
    workdir: Path,
    limits: Limits,
    readable: Sequence[Path],
    hide: Sequence[Path],
    status_fd: int,
    keep_network: bool = False,
) -> dict:
    """What :mod:`copilot.drafting.isolation_child` sets up, verifies and reports.

    ``keep_network`` drops only the network namespace (the child shares the host's).
    """
    keep = _resolved([*default_readable(), *readable])
    clash = {"/", str(workdir), *keep}
    if clash.intersection(_resolved(hide)):
        raise UsageError(f"cannot hide {sorted(clash.intersection(_resolved(hide)))}")
    # A default that is also a kept path (HOME=/, a venv in /tmp) must stay readable.
    hidden = [p for p in _resolved([*default_hides(), *hide]) if p not in clash]
    hidden = [p for p in hidden if not _covered(p, hidden, keep + [str(workdir)])]
    names = (
        [] if backend == "rlimits" else [n for n in NAMESPACES if n != "net" or not keep_network]
    )
    if names and os.geteuid() != 0:
        names.insert(0, "user")
    return {
        "backend": backend,
        "namespaces": names,
        "parent_ns": {n: os.stat(f"/proc/self/ns/{n}").st_ino for n in (*NAMESPACES, "user")},
        "hide": [{"path": p, "dev": os.stat(p).st_dev} for p in hidden],
        "readable": keep,
        "workdir": str(workdir),
        "status_fd": status_fd,
        "drop_uid": NOBODY if names and os.geteuid() == 0 else None,
        "limits": asdict(limits),
    }


def _under_any(path: str, parents: Iterable[str]) -> bool:
    return any(path != p and path.startswith(p.rstrip("/") + "/") for p in parents)


def _covered(path: str, hides: list[str], keeps: list[str]) -> bool:
    """Whether a hidden ancestor already covers ``path`` (no kept path in between)."""
    return any(
        _under_any(path, [outer])
        and not any(_under_any(k, [outer]) and (k == path or _under_any(path, [k])) for k in keeps)
        for outer in hides
    )


def tool(name: str) -> str:
    """The absolute path of a system tool (never one from the caller's PATH), else ``name``."""
    return shutil.which(name, path=f"{SYSTEM_PATH}:/usr/local/bin") or name


def wrapper_command(cfg: dict) -> list[str]:
    """The command that creates the namespaces (none for ``rlimits``)."""
    if cfg["backend"] == "unshare":
        command = [tool("unshare"), *(["--net"] if "net" in cfg["namespaces"] else [])]
        command += ["--mount", "--pid", "--ipc", "--uts"]
        command += ["--fork", "--kill-child", "--mount-proc"]
        return command + (["--map-root-user"] if "user" in cfg["namespaces"] else [])
    if cfg["backend"] == "rlimits":
        return []
    return _bwrap_command(cfg)


def _bwrap_command(cfg: dict) -> list[str]:
    keeps = [*cfg["readable"], cfg["workdir"]]
    hides = [h["path"] for h in cfg["hide"]]
    command = [tool("bwrap"), "--die-with-parent", "--unshare-pid"]
    command += ["--unshare-net"] if "net" in cfg["namespaces"] else []
    command += ["--unshare-ipc", "--unshare-uts", "--ro-bind", "/", "/"]
    command += ["--dev", "/dev", "--proc", "/proc"]
    command += _bwrap_hides([h for h in hides if not _under_any(h, keeps)])
    made: set[str] = set()
    for path in keeps:  # bwrap would make the way to a kept path private (0700)
        for parent in reversed(Path(path).parents):
            if _under_any(str(parent), hides) and str(parent) not in made:
                made.add(str(parent))
                command += ["--perms", "0755", "--dir", str(parent)]
        bind = "--bind" if path == cfg["workdir"] else "--ro-bind"
        command += [bind, path, path]
    command += _bwrap_hides([h for h in hides if _under_any(h, keeps)])
    command += ["--chdir", cfg["workdir"]]
    if "user" in cfg["namespaces"]:
        return [*command, "--unshare-user"]
    return [*command, "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]


def _bwrap_hides(paths: list[str]) -> list[str]:
    out = []
    for path in paths:
        if os.path.isdir(path):
            out += ["--perms", "1777", "--size", str(16 << 20), "--tmpfs", path]
        else:
            out += ["--ro-bind", "/dev/null", path]
    return out
