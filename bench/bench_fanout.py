"""Benchmark: fan-out analysis on 1 vs 2 worker processes, one process alone, and DuckDB.

    .venv/bin/python bench/bench_fanout.py --rows 5000000 [--partitions 7] [--repeat 1]
    .venv/bin/python bench/bench_fanout.py --rows 5000000 --suggest

``--suggest`` measures ``atc suggest`` instead (one process, then the fan-out
with collecting partitions and the advice in one activity; no DuckDB), and
checks that every fan-out run's JSON is the single pass's, byte for byte after
sorting keys (sha256 compared); figures go to bench/out/fanout-suggest-<rows>.json.

The estate is 7 daily CSV exports written by ``atc sample`` (cached in
bench/out/fanout-<rows>/). Per configuration, in the same run and on the same
files: ``atc analyze`` in one process; the fan-out workflow on a real
Temporal dev server with 1 and then 2 fresh ``python -m workflows.fanout.worker``
processes (wall time from start to the merged document read back, each
worker's peak RSS from /proc VmHWM, the run's history size); and DuckDB's
same aggregation over the 7 files. Every fan-out run's record count is
checked against the single pass. Figures go to bench/out/fanout-<rows>.json and
stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
DAYS = 7
sys.path.insert(0, str(ROOT))  # tests.workflows.devserver: the dev server the fault tests use
SINGLE = """
import json, resource, sys, time
from pathlib import Path
from copilot.pipeline import analyze_paths
start = time.perf_counter()
run = analyze_paths(sorted(Path(sys.argv[1]).glob('*.csv')))
print(json.dumps({"seconds": time.perf_counter() - start, "records": run.quarantine.records,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
SINGLE_SUGGEST = """
import json, resource, sys, time
from pathlib import Path
from bench.bench_fanout import digest
from copilot.throttling.run import suggest_paths
start = time.perf_counter()
run = suggest_paths(sorted(Path(sys.argv[1]).glob('*.csv')))
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "records": run.quarantine.records,
                  "sha256": digest({**run.to_dict(), "policies_out": {}}),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def digest(body: dict[str, object]) -> str:
    """sha256 of a JSON document with its keys sorted (what must match byte for byte)."""
    import hashlib

    from copilot.commands._output import to_json

    canonical = json.dumps(json.loads(to_json(body)), sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def generate(rows: int) -> Path:
    """Seven daily exports of about ``rows / 7`` rows each (generated once)."""
    from copilot.cli import run as cli

    where = OUT / f"fanout-{rows}"
    where.mkdir(parents=True, exist_ok=True)
    for day in range(DAYS):
        path = where / f"day-{day + 1}.csv"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            argv = ["sample", "--days", "1", "--seed", str(40 + day), "--rows", str(rows // DAYS)]
            argv += ["--start", f"2026-11-{16 + day:02d}", "--out", str(tmp)]
            assert cli(argv) == 0
            tmp.rename(path)
    return where


def _json_line(argv: list[str]) -> dict[str, object]:
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def single(where: Path, suggest: bool = False) -> dict[str, object]:
    return _json_line([sys.executable, "-c", SINGLE_SUGGEST if suggest else SINGLE, str(where)])


def duckdb(where: Path) -> dict[str, object]:
    return _json_line([sys.executable, "-m", "bench.duckdb_reference", str(where / "*.csv")])


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def fanout(
    server: object, where: Path, workers: int, partitions: int, suggest: bool = False
) -> dict[str, object]:
    """One run on ``workers`` fresh worker processes; wall time, peak RSS, history."""
    from temporalio.client import Client

    from copilot.throttling.run import collected_attrs
    from tests.workflows.devserver import worker_env
    from workflows.fanout.starter import fanout_input, history_bytes, run_fanout

    queue = f"bench-fanout-{uuid.uuid4().hex[:8]}"
    tmp = Path(tempfile.mkdtemp(prefix="atc-bench-fanout-"))
    env = worker_env(server, tmp / "data", "unused", ATC_FANOUT_TASK_QUEUE=queue)  # type: ignore[arg-type]
    procs = []
    for k in range(workers):
        log = tmp / f"worker-{k}.log"
        with log.open("wb") as out:
            procs.append(subprocess.Popen([sys.executable, "-m", "workflows.fanout.worker"],
                                          cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))  # fmt: skip
        while "polling" not in log.read_text(errors="replace"):
            if procs[-1].poll() is not None:
                raise RuntimeError(log.read_text())
            time.sleep(0.1)
    files = sorted(where.glob("*.csv"))
    collect = list(collected_attrs()) if suggest else None
    data = fanout_input(files, tmp / "shared", partitions=partitions, collect=collect)

    async def go() -> tuple[object, dict, int, float]:
        client = await Client.connect(server.address)  # type: ignore[attr-defined]
        start = time.perf_counter()
        result, body, handle = await run_fanout(client, data, queue)
        elapsed = time.perf_counter() - start
        return result, body, await history_bytes(handle), elapsed

    try:
        result, body, history, elapsed = asyncio.run(go())
        peaks = [round(_peak_mb(p.pid)) for p in procs]
        cpu = [round(_cpu_s(p.pid), 1) for p in procs]
    finally:
        for p in procs:
            p.terminate()
            p.wait(60)
    by_worker: dict[str, set[str]] = {}
    for ref in result.partitions:  # type: ignore[attr-defined]  (one ref per piece)
        by_worker.setdefault(ref.worker, set()).add(ref.partition)
    return {
        "seconds": elapsed,
        "records": body["records"],
        "partitions": len({r.partition for r in result.partitions}),  # type: ignore[attr-defined]
        "pieces": len(result.partitions),  # type: ignore[attr-defined]
        "partitions_per_worker": sorted(len(parts) for parts in by_worker.values()),
        "peak_rss_mb": peaks,
        "cpu_s": cpu,  # per worker, start-up included
        "history_bytes": history,
        "partial_bytes": sum(r.bytes for r in result.partitions),  # type: ignore[attr-defined]
        "requests_bytes": sum(
            r.requests.bytes
            for r in result.partitions
            if r.requests  # type: ignore[attr-defined]
        ),
        "sha256": digest(body),
    }


def run(
    rows: int, partitions: int, repeat: int, with_duckdb: bool = True, suggest: bool = False
) -> dict[str, object]:
    from tests.workflows.devserver import DevServer

    where = generate(rows)
    size_mb = sum(p.stat().st_size for p in where.glob("*.csv")) / 1e6
    runs: dict[str, list[dict[str, object]]] = {"single": [], "w1": [], "w2": [], "duckdb": []}
    with tempfile.TemporaryDirectory() as tmp:
        server = DevServer(Path(tmp) / "temporal.db", Path(tmp) / "temporal.log")
        server.start()
        try:
            for _ in range(repeat):
                runs["single"].append(single(where, suggest))
                runs["w1"].append(fanout(server, where, 1, partitions, suggest))
                runs["w2"].append(fanout(server, where, 2, partitions, suggest))
                if with_duckdb and not suggest:
                    runs["duckdb"].append(duckdb(where))
        finally:
            server.stop()
    records = runs["single"][0]["records"]
    for name in ("w1", "w2"):
        assert all(r["records"] == records for r in runs[name]), f"{name}: records differ"
        if suggest:
            same = all(r["sha256"] == runs["single"][0]["sha256"] for r in runs[name])
            assert same, f"{name}: the suggest JSON differs from the single pass"
    return {"rows": records, "files": DAYS, "csv_mb": round(size_mb, 1), "cores": os.cpu_count(),
            "partitions": partitions, "command": "suggest" if suggest else "analyze",
            "runs": runs}  # fmt: skip


def _median(runs: list[dict[str, object]], key: str) -> float:
    return statistics.median(float(r[key]) for r in runs)  # type: ignore[arg-type]


def table(result: dict[str, object]) -> str:
    runs = result["runs"]  # type: ignore[index]
    rows = int(result["rows"])  # type: ignore[arg-type]
    lines = [
        f"{rows:,} rows in {result['files']} CSV files ({result['csv_mb']} MB), "
        f"{result['partitions']} partitions asked, {result['cores']} cores",
        "",
        "| run | seconds | rows/s | peak RSS per process | CPU s per worker | partitions per worker "
        "| history |",
        "|---|---|---|---|---|---|---|",
    ]
    labels = {"single": f"atc {result.get('command', 'analyze')}, one process",
              "w1": "fan-out, 1 worker",
              "w2": "fan-out, 2 workers", "duckdb": "DuckDB (same files)"}  # fmt: skip
    for name, label in labels.items():
        mine = runs[name]
        if not mine:
            continue
        seconds = _median(mine, "seconds")
        rss = mine[-1]["peak_rss_mb"]
        rss_text = " + ".join(f"{x} MB" for x in rss) if isinstance(rss, list) else f"{rss:.0f} MB"
        per = mine[-1].get("partitions_per_worker", "")
        history = f"{mine[-1]['history_bytes']:,} B" if "history_bytes" in mine[-1] else ""
        cpu = " + ".join(str(c) for c in mine[-1].get("cpu_s", []))
        lines.append(f"| {label} | {seconds:.1f} | {rows / seconds:,.0f} | {rss_text} | {cpu} | "
                     f"{per} | {history} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--partitions", type=int, default=DAYS)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--no-duckdb", action="store_true", help="skip DuckDB (it holds every row in memory)"
    )
    parser.add_argument("--suggest", action="store_true", help="measure atc suggest instead")
    args = parser.parse_args()
    result = run(args.rows, args.partitions, args.repeat, not args.no_duckdb, args.suggest)
    OUT.mkdir(parents=True, exist_ok=True)
    name = f"fanout-suggest-{args.rows}" if args.suggest else f"fanout-{args.rows}"
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=2))
    print(table(result))


if __name__ == "__main__":
    main()
