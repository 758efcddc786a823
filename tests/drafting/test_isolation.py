"""Drafted code runs isolated: real child processes, real namespaces where the machine has them.

Every claim of :attr:`IsolatedRun.isolation` is checked from inside the child
(its own namespace ids, what it can read, reach and write), so a run that
names an isolation it did not get fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from copilot.drafting.dryrun import dry_run
from copilot.drafting.isolation import (
    IsolatedRun,
    Limits,
    available_backends,
    on_wait,
    run_isolated,
    select_backend,
)
from copilot.drafting.isolation_child import SETUP_FAILED
from copilot.drafting.isolation_plan import REPO, tool
from copilot.drafting.render import render
from copilot.drafting.sandbox import sandbox_load
from copilot.drafting.spec import parse_spec
from copilot.scopes import DEFAULT_PRODUCTS
from tests.drafting.specs import FLAGSHIP_SCENARIOS, FLAGSHIP_SCOPES, flagship

pytestmark = pytest.mark.slow  # child processes with real timeouts and limits

ALL_BACKENDS = ["bwrap", "unshare", "rlimits"]


def _run(tmp_path: Path, code: str, backend: str, **options) -> IsolatedRun:
    workdir = tmp_path / "work"
    workdir.mkdir(exist_ok=True)
    options.setdefault("timeout_s", 60.0)
    argv = [sys.executable, "-I", "-c", code]
    return run_isolated(argv, workdir=workdir, backend=backend, **options)


def _report(run: IsolatedRun) -> dict:
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def _bare_namespaces_work(backend: str) -> bool:
    """Whether the tool alone creates namespaces here (without atc's set-up)."""
    path, true = tool(backend), shutil.which("true") or "/bin/true"
    if path == backend:
        return False
    if backend == "bwrap":
        command = [path, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", true]
    else:
        command = [path, "--net", "--mount", "--pid", "--ipc", "--uts", "--fork"]
        command += [*(["--map-root-user"] if os.geteuid() else []), true]
    return subprocess.run(command, capture_output=True).returncode == 0


def _usable(backend: str) -> str:
    reason = available_backends().get(backend)
    if reason and _bare_namespaces_work(backend):
        pytest.fail(f"{backend} creates namespaces here, but not with atc's set-up: {reason}")
    if reason and backend == "bwrap" and os.environ.get("ATC_REQUIRE_BWRAP"):
        pytest.fail(f"bwrap is required (ATC_REQUIRE_BWRAP is set) but unusable: {reason}")
    if reason:
        pytest.skip(f"{backend} cannot create namespaces on this machine: {reason}")
    return backend


@pytest.fixture(params=["bwrap", "unshare"])
def ns_backend(request: pytest.FixtureRequest) -> str:
    return _usable(request.param)


@pytest.fixture(params=ALL_BACKENDS)
def any_backend(request: pytest.FixtureRequest) -> str:
    return _usable(request.param)


NS_IDS = """
import json, os
print(json.dumps({n: os.stat(f"/proc/self/ns/{n}").st_ino for n in ("net", "mnt", "pid")}))
"""


def _is_what_this_machine_offers(isolation: str) -> bool:
    if select_backend() == "rlimits":  # no namespaces here: nothing more may be claimed
        return isolation == "rlimits-only"
    return isolation.startswith("namespaces(") and "net,mount,pid,ipc,uts)+rlimits" in isolation


def test_the_isolation_named_is_the_one_the_child_is_in(tmp_path: Path) -> None:
    run = _run(tmp_path, NS_IDS, "auto")
    child = _report(run)
    ours = {n: os.stat(f"/proc/self/ns/{n}").st_ino for n in ("net", "mnt", "pid")}
    assert _is_what_this_machine_offers(run.isolation)
    if run.isolation == "rlimits-only":
        assert child == ours
    else:
        assert all(child[n] != ours[n] for n in ours)


def test_without_namespaces_the_run_says_rlimits_only_and_shares_the_host(tmp_path) -> None:
    run = _run(tmp_path, NS_IDS, "rlimits")
    assert run.isolation == "rlimits-only"
    assert _report(run)["net"] == os.stat("/proc/self/ns/net").st_ino


READ_SECRET = """
import json, os, sys
out = {}
for path in sys.argv[1:]:
    try:
        with open(path) as fh:
            out[path] = fh.read()
    except OSError as exc:
        out[path] = type(exc).__name__
print(json.dumps(out))
"""


def test_a_hidden_data_directory_cannot_be_read(tmp_path: Path, ns_backend: str) -> None:
    project = tmp_path / "project"
    keys = project / ".atc" / "keys"
    keys.mkdir(parents=True)
    (keys / "private-demo.pem").write_text("-----BEGIN PRIVATE KEY-----\nsecret\n")
    (project / "README").write_text("public")
    workdir = tmp_path / "work"
    workdir.mkdir()
    argv = [sys.executable, "-I", "-c", READ_SECRET]
    argv += [str(keys / "private-demo.pem"), str(project / "README")]
    run = run_isolated(
        argv,
        workdir=workdir,
        timeout_s=60,
        readable=[project],  # readable like the repository, with its .atc hidden inside
        hide=[project / ".atc"],
        backend=ns_backend,
    )
    seen = _report(run)
    assert seen[str(project / "README")] == "public"
    assert seen[str(keys / "private-demo.pem")] == "FileNotFoundError"


def test_nested_hidden_paths_are_all_hidden(tmp_path: Path, ns_backend: str) -> None:
    outer = tmp_path / "data"
    inner = outer / "keys"
    inner.mkdir(parents=True)
    (inner / "private-a.pem").write_text("secret")
    (outer / "notes").write_text("secret")
    tmp_path.chmod(
        0o755
    )  # readable paths must be readable by others: a root parent's child is nobody
    workdir = tmp_path / "work"
    workdir.mkdir()
    argv = [
        sys.executable,
        "-I",
        "-c",
        READ_SECRET,
        str(inner / "private-a.pem"),
        str(outer / "notes"),
    ]
    run = run_isolated(
        argv,
        workdir=workdir,
        timeout_s=60,
        readable=[tmp_path],
        hide=[inner, outer],
        backend=ns_backend,
    )
    assert set(_report(run).values()) == {"FileNotFoundError"}


def test_home_and_temporary_files_are_hidden_by_default(tmp_path: Path, ns_backend) -> None:
    planted = tmp_path / "elsewhere" / "private-other.pem"
    planted.parent.mkdir()
    planted.write_text("secret")
    code = READ_SECRET.replace("sys.argv[1:]", f"[{str(planted)!r}]")
    code += "\nprint(json.dumps(sorted(os.listdir(os.path.expanduser('~')))))"
    code += f"\nprint(json.dumps(sorted(os.listdir({str(Path.home())!r}))))"
    run = _run(tmp_path, code, ns_backend)
    lines = run.stdout.strip().splitlines()
    assert json.loads(lines[0]) == {str(planted): "FileNotFoundError"}
    assert json.loads(lines[1]) == []  # the child's HOME is fresh and empty
    host_home = set(json.loads(lines[2]))
    # Only the way to paths the child must read (an interpreter under /root) remains.
    assert host_home <= {p.relative_to(Path.home()).parts[0] for p in _kept_under_home()}


def _kept_under_home() -> list[Path]:
    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, REPO)}
    return [p for p in prefixes if p.is_relative_to(Path.home().resolve())]


CONNECT = """
import json, socket, sys
out = {}
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3).close()
    out["host"] = "connected"
except OSError as exc:
    out["host"] = type(exc).__name__
with socket.create_server(("127.0.0.1", 0)) as own:
    socket.create_connection(own.getsockname(), timeout=3).close()
    out["own"] = "connected"
print(json.dumps(out))
"""


def test_the_hosts_loopback_is_unreachable_but_the_childs_own_works(tmp_path, ns_backend) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        argv = [sys.executable, "-I", "-c", CONNECT, str(port)]
        workdir = tmp_path / "work"
        workdir.mkdir()
        run = run_isolated(argv, workdir=workdir, timeout_s=60, backend=ns_backend)
    assert _report(run) == {"host": "ConnectionRefusedError", "own": "connected"}


def test_the_child_sees_no_secret_from_the_parents_environment(
    tmp_path: Path, any_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "OPENAI_API_KEY": "sk-test",
        "ATC_LLM_BASE_URL": "http://llm.internal",
        "GITHUB_TOKEN": "ghp-test",
        "SIGNING_KEY": "k",
        "HTTPS_PROXY": "http://proxy.internal:3128",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    run = _run(tmp_path, "import json, os; print(json.dumps(dict(os.environ)))", any_backend)
    env = _report(run)
    assert not set(secrets) & set(env)
    assert not any(value in env.values() for value in secrets.values())
    workdir = str((tmp_path / "work").resolve())
    assert env["HOME"].startswith(workdir) and env["TMPDIR"].startswith(workdir)
    assert set(env["PATH"].split(":")) == {str(Path(sys.executable).parent), "/usr/bin", "/bin"}


def test_the_repository_and_venv_are_read_only(tmp_path: Path, ns_backend: str) -> None:
    target = REPO / "atc-isolation-write-probe"
    code = f"""
import json
try:
    open({str(target)!r}, "w").write("x")
    print(json.dumps("written"))
except OSError as exc:
    print(json.dumps(type(exc).__name__))
"""
    try:
        assert _report(_run(tmp_path, code, ns_backend)) in ("OSError", "PermissionError")
    finally:
        target.unlink(missing_ok=True)
    assert not target.exists()


def test_the_child_holds_no_capabilities(tmp_path: Path, ns_backend: str) -> None:
    code = "import json; print(json.dumps(open('/proc/self/status').read()))"
    status = dict(
        line.split(":\t", 1) for line in _report(_run(tmp_path, code, ns_backend)).splitlines()
    )
    assert int(status["CapEff"], 16) == 0 and int(status["CapPrm"], 16) == 0
    assert status["NoNewPrivs"].strip() == "1"


def test_the_cpu_limit_kills_a_busy_child(tmp_path: Path, any_backend: str) -> None:
    run = _run(tmp_path, "while True: pass", any_backend, limits=Limits(cpu_s=1))
    assert not run.timed_out
    assert run.returncode in (-signal.SIGXCPU, -signal.SIGKILL, 128 + signal.SIGXCPU)


def test_a_file_cannot_grow_past_the_size_limit(tmp_path: Path, any_backend: str) -> None:
    code = """
import json, os
try:
    with open("big.bin", "wb") as fh:
        fh.write(b"x" * (2 << 20))
    print(json.dumps("written"))
except OSError as exc:
    print(json.dumps(os.strerror(exc.errno)))
"""
    run = _run(tmp_path, code, any_backend, limits=Limits(file_size=1 << 20))
    assert _report(run) == os.strerror(27)  # EFBIG
    assert (tmp_path / "work" / "big.bin").stat().st_size <= 1 << 20


def _alive_with(marker: str) -> bool:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


def _gone(marker: str) -> bool:
    deadline = time.monotonic() + 10  # SIGKILL is delivered asynchronously
    while _alive_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive_with(marker)


def test_a_timeout_kills_the_child_and_everything_it_started(tmp_path, any_backend) -> None:
    marker = f"atc-isolation-sleeper-{os.getpid()}-{any_backend}"
    code = f"""
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", {marker!r}])
print("started", flush=True)
time.sleep(300)
"""
    run = _run(tmp_path, code, any_backend, timeout_s=3)
    assert run.timed_out and run.returncode != 0
    assert "started" in run.stdout
    assert _gone(marker)


def test_the_wait_hook_is_called_while_the_child_runs(tmp_path: Path) -> None:
    beats: list[float] = []
    token = on_wait.set(lambda: beats.append(time.monotonic()))
    try:
        run = _run(tmp_path, "import time; time.sleep(2.5)", "auto")
    finally:
        on_wait.reset(token)
    assert run.returncode == 0 and not run.timed_out
    assert beats


def test_a_failing_wait_hook_stops_the_child_and_propagates(tmp_path: Path) -> None:
    marker = f"atc-isolation-hooked-{os.getpid()}"

    def cancelled() -> None:
        raise KeyboardInterrupt("cancelled")

    token = on_wait.set(cancelled)
    try:
        with pytest.raises(KeyboardInterrupt):
            _run(tmp_path, f"import time; time.sleep(300)  # {marker}", "auto")
    finally:
        on_wait.reset(token)
    assert _gone(marker)


def test_a_setup_step_that_fails_stops_the_run_before_the_command(tmp_path, any_backend) -> None:
    # No process may raise its open-file limit this far: the limits step fails.
    code = "open('ran', 'w').write('the command ran')"
    run = _run(tmp_path, code, any_backend, limits=Limits(nofile=1 << 40))
    assert run.returncode == SETUP_FAILED
    assert run.isolation == "none"
    assert "nothing ran" in run.stderr
    assert not (tmp_path / "work" / "ran").exists()


def test_the_sandbox_check_says_which_isolation_it_ran_under() -> None:
    spec = parse_spec(flagship())
    result = sandbox_load(render(spec, FLAGSHIP_SCOPES))
    assert result.ok, result.error
    assert _is_what_this_machine_offers(result.isolation)


@pytest.mark.slow
def test_a_rendered_draft_dry_runs_to_completion_isolated() -> None:
    spec = parse_spec(flagship())
    code = render(spec, FLAGSHIP_SCOPES)
    report = dry_run(code, spec, products=DEFAULT_PRODUCTS, scopes=FLAGSHIP_SCOPES)
    assert report.ok, report.failures()
    assert [s["name"] for s in report.scenarios] == FLAGSHIP_SCENARIOS
    assert [b["covered"] for b in report.branches] == [True]
    assert report.to_dict()["isolation"] == report.isolation
    assert _is_what_this_machine_offers(report.isolation)
