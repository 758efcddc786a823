"""The first program inside an isolated child: set up, prove it, drop privileges, exec.

``python -I -S isolation_child.py CONFIG_JSON -- ARGV...`` runs inside the new
namespaces (``unshare``/``bwrap``) or, with no namespaces, as a plain child.
It uses the standard library only (it runs before the target's imports, with
``-S``). In order it: hides paths behind empty tmpfs mounts and re-exposes
the readable ones read-only (``unshare`` only: ``bwrap`` mounted them
already), brings up loopback, *verifies* every namespace against the parent's
and every hidden path, drops every capability (and, when started as real
root, becomes ``nobody``), sets the resource limits and CPU affinity, reports
what it verified as one JSON line on the status pipe, runs ARGV as its
child and reports ARGV's exit status (negative: the signal) as a second line.

Any step that fails ends the process with :data:`SETUP_FAILED` before ARGV
runs: isolation fails closed, never silently weaker.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import resource
import socket
import struct
import sys

SETUP_FAILED = 125
NS_LABELS = {"user": "user", "net": "net", "mnt": "mount", "pid": "pid", "ipc": "ipc", "uts": "uts"}
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT, _MS_BIND = 1, 2, 4, 32, 4096
_MS_REC, _MS_PRIVATE, _MS_RELATIME = 16384, 1 << 18, 1 << 21
_ST_RELATIME = 4096
_PR_CAPBSET_DROP, _PR_SET_SECUREBITS, _PR_SET_NO_NEW_PRIVS = 24, 28, 38
_SECBIT_NOROOT_BOTH, _SECBIT_KEEP_CAPS_LOCKED = 0b11, 0b100000
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
_RLIMITS = {
    "cpu_s": resource.RLIMIT_CPU,
    "address_space": resource.RLIMIT_AS,
    "data": resource.RLIMIT_DATA,
    "file_size": resource.RLIMIT_FSIZE,
    "nproc": resource.RLIMIT_NPROC,
    "nofile": resource.RLIMIT_NOFILE,
}

_libc = ctypes.CDLL(None, use_errno=True)


class SetupError(Exception):
    """One isolation step could not be done or verified."""


def _call(name: str, *args: object) -> None:
    if getattr(_libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise SetupError(f"{name}{args[:2]!r}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    enc = [s.encode() if s is not None else None for s in (source, target, fstype, data)]
    _call("mount", enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3])


def _locked_flags(path: str) -> int:
    # A remount must repeat the flags a less privileged namespace may not clear.
    flag = os.statvfs(path).f_flag
    return (flag & 0x0C0E) | (_MS_RELATIME if flag & _ST_RELATIME else 0)


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _hide(path: str) -> None:
    if os.path.isdir(path):
        _mount("atc-hidden", path, "tmpfs", _MS_NOSUID | _MS_NODEV, "mode=1777,size=16m")
    elif os.path.exists(path):
        _mount("/dev/null", path, None, _MS_BIND)


def _expose(path: str, fd: int) -> None:
    # The O_PATH descriptor still names the original, now covered, directory.
    if not os.path.exists(path):
        parent = os.path.dirname(path)
        os.makedirs(parent, mode=0o755, exist_ok=True)
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.mkdir(path, 0o755)
        else:
            open(path, "a").close()  # noqa: SIM115 - an empty mount point
    _mount(f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC)


def _read_only(path: str) -> None:
    _mount(None, path, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _locked_flags(path))


def mount_tree(cfg: dict) -> None:
    """Hide, re-expose readable paths read-only, keep the workdir writable."""
    hides = sorted((h["path"] for h in cfg["hide"]), key=len)
    readable = sorted(cfg["readable"], key=len)
    workdir = cfg["workdir"]
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    keeps = [p for p in readable if os.path.exists(p)] + [workdir]
    fds = {p: os.open(p, os.O_PATH | os.O_CLOEXEC) for p in keeps}
    for path in hides:
        _hide(path)
    for path in readable:
        if path in fds:
            _expose(path, fds[path])
            _read_only(path)
    _expose(workdir, fds[workdir])
    for path in hides:  # hidden paths inside a re-exposed one (the repository's .atc)
        if any(_under(path, k) and path != k for k in keeps):
            _hide(path)
    _read_only("/")
    for fd in fds.values():
        os.close(fd)


def loopback_up() -> None:
    """Bring ``lo`` up in the new network namespace (nothing else exists there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, _SIOCGIFFLAGS, req)[:18])[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))


def verify_namespaces(cfg: dict) -> list[str]:
    """The namespaces that differ from the parent's; raises if one expected does not."""
    done = []
    for name in cfg["namespaces"]:
        if os.stat(f"/proc/self/ns/{name}").st_ino == cfg["parent_ns"][name]:
            raise SetupError(f"still in the parent's {name} namespace")
        done.append(NS_LABELS[name])
    if "net" in cfg["namespaces"]:
        names = sorted(name for _, name in socket.if_nameindex())
        if names != ["lo"]:
            raise SetupError(f"network interfaces besides lo are present: {names}")
        with socket.create_server(("127.0.0.1", 0)) as server:
            socket.create_connection(server.getsockname(), timeout=2).close()
    if "pid" in cfg["namespaces"]:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
        if len(pids) > 4:
            raise SetupError(f"/proc shows {len(pids)} processes: not a fresh pid namespace")
    return done


def verify_hidden(cfg: dict) -> None:
    """Each hidden path is a fresh, empty mount (bar mount points of kept paths)."""
    keeps = [*cfg["readable"], cfg["workdir"]]
    for hide in cfg["hide"]:
        path = hide["path"]
        if not os.path.lexists(path):
            continue
        if os.stat(path).st_dev == hide["dev"]:
            raise SetupError(f"{path} is not hidden")
        if os.path.isdir(path):
            allowed = {k[len(path) :].lstrip("/").split("/")[0] for k in keeps if _under(k, path)}
            extra = set(os.listdir(path)) - allowed
            if extra:
                raise SetupError(f"{path} still shows {sorted(extra)[:3]}")
        elif os.path.getsize(path):
            raise SetupError(f"{path} is still readable")


def drop_privileges(cfg: dict) -> bool:
    """No capabilities, no new privileges; ``nobody`` when started as real root."""
    strict = cfg["backend"] == "unshare"
    if strict:
        last = int(open("/proc/sys/kernel/cap_last_cap").read())  # noqa: SIM115
        for cap in range(last + 1):
            _call("prctl", _PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0)
        bits = _SECBIT_NOROOT_BOTH | _SECBIT_KEEP_CAPS_LOCKED
        _call("prctl", _PR_SET_SECUREBITS, ctypes.c_ulong(bits), 0, 0, 0)
    uid = cfg.get("drop_uid")
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    else:
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
        _call("capset", header, (ctypes.c_uint32 * 6)())
    _call("prctl", _PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), 0, 0, 0)
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))  # noqa: SIM115
    fields = ["CapEff", "CapPrm", "CapAmb", *(["CapBnd"] if strict else [])]
    held = [f for f in fields if int(status[f], 16)]
    if held or status["NoNewPrivs"].strip() != "1":
        raise SetupError(f"privileges remain: {held or 'NoNewPrivs unset'}")
    return uid is not None


def apply_limits(limits: dict) -> None:
    """Resource limits (soft = hard, CPU one second apart), no core files, few CPUs."""
    for name, which in _RLIMITS.items():
        value = limits.get(name)
        if value is not None:
            hard = value + 1 if which == resource.RLIMIT_CPU else value
            resource.setrlimit(which, (value, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    allowed = sorted(os.sched_getaffinity(0))
    start = int.from_bytes(os.urandom(2), "big") % len(allowed)  # spread concurrent children
    count = min(len(allowed), max(1, int(limits.get("cpus") or 1)))
    os.sched_setaffinity(0, [allowed[(start + i) % len(allowed)] for i in range(count)])


def isolate(cfg: dict) -> str:
    """Every step in order; returns the name of what was verified."""
    if cfg["backend"] == "unshare":
        mount_tree(cfg)
        if "net" in cfg["namespaces"]:  # a worker keeps the host's network to reach Temporal
            loopback_up()
    names = verify_namespaces(cfg)
    if names:
        verify_hidden(cfg)
        nobody = drop_privileges(cfg)
    else:  # no namespace to hide in: privileges stay, setuid binaries cannot raise them
        nobody = False
        _call("prctl", _PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), 0, 0, 0)
    apply_limits(cfg["limits"])
    os.chdir(cfg["workdir"])
    name = f"namespaces({','.join(names)})+rlimits" if names else "rlimits-only"
    return name + ("+nobody" if nobody else "")


def _reap_until(pid: int) -> int:
    # As pid 1 of a pid namespace this also reaps the command's orphans.
    while True:
        done, status = os.waitpid(-1, 0)
        if done == pid:
            return os.waitstatus_to_exitcode(status)


def main(argv: list[str]) -> None:
    cfg = json.loads(argv[0])
    target = argv[2:]
    os.set_inheritable(cfg["status_fd"], False)
    status = os.fdopen(cfg["status_fd"], "w")
    try:
        report = {"ok": True, "isolation": isolate(cfg)}
    except (SetupError, OSError, ValueError, KeyError) as exc:
        report = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    status.write(json.dumps(report) + "\n")
    status.flush()
    if not report["ok"]:
        sys.stderr.write(f"isolation setup failed, nothing ran: {report['error']}\n")
        os._exit(SETUP_FAILED)
    # Fork rather than exec: the wrappers do not pass a death by signal on faithfully,
    # and a command that is not pid 1 keeps the usual signal behaviour.
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(target[0], target)
        except OSError as exc:
            sys.stderr.write(f"cannot run {target[0]}: {exc.strerror}\n")
        finally:
            os._exit(127)
    code = _reap_until(pid)
    status.write(json.dumps({"exit": code}) + "\n")
    status.close()
    os._exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main(sys.argv[1:])
