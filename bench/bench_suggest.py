"""Benchmark: `atc suggest` against `atc analyze` on the same generated Apigee export.

    .venv/bin/python bench/bench_suggest.py --rows 1000000 5000000

For each size the file comes from ``bench_analyze.generate`` (atc's generator,
7 days, cached in bench/out/). Each command runs as the real CLI (``--json``,
output discarded) in a fresh process, alternating, ``--repeat`` times; the
median wall time, peak RSS and the ratio suggest / analyze are reported (the
target: suggest within 3x analyze), and each size's peak RSS over the first size's (the
flat-memory target: 20M rows within 1.2x of 1M). Figures go to bench/out/suggest_results.json
and stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(ROOT))

from bench.bench_analyze import generate  # noqa: E402


def child(command: str, path: str) -> None:
    """Run one CLI command in this process; print seconds and peak RSS as JSON."""
    from copilot.cli import run

    start = time.perf_counter()
    with open(os.devnull, "w") as sink:
        saved, sys.stdout = sys.stdout, sink
        try:
            code = run([command, path, "--json"])
        finally:
            sys.stdout = saved
    elapsed = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"command": command, "code": code, "seconds": elapsed, "peak_rss_mb": rss}))


def measure(command: str, path: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", command, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["code"] != 0:
        raise SystemExit(f"atc {command} exited {result['code']}: {proc.stderr[-2000:]}")
    return result


def run(rows_list: list[int], repeat: int) -> list[dict]:
    results = []
    for rows in rows_list:
        path = generate(rows)
        runs: dict[str, list[dict]] = {"analyze": [], "suggest": []}
        for _ in range(repeat):
            for command in runs:
                runs[command].append(measure(command, path))
        summary = {c: _summary(r) for c, r in runs.items()}
        results.append(
            {
                "rows": rows,
                "file_mb": round(path.stat().st_size / 1e6, 1),
                **summary,
                "ratio": round(summary["suggest"]["seconds"] / summary["analyze"]["seconds"], 2),
            }
        )
    return results


def _summary(runs: list[dict]) -> dict:
    return {
        "seconds": round(statistics.median(r["seconds"] for r in runs), 2),
        "all_seconds": [round(r["seconds"], 2) for r in runs],
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--child", nargs=2, metavar=("COMMAND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    results = run(args.rows, args.repeat)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "suggest_results.json").write_text(json.dumps(results, indent=2))
    print(
        "| rows | file | analyze s | analyze RSS | suggest s | suggest RSS | suggest / analyze "
        "| RSS vs first size (analyze, suggest) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    first = results[0]
    for r in results:
        a, s = r["analyze"], r["suggest"]
        grow_a = a["peak_rss_mb"] / first["analyze"]["peak_rss_mb"]
        grow_s = s["peak_rss_mb"] / first["suggest"]["peak_rss_mb"]
        print(
            f"| {r['rows']:,} | {r['file_mb']} MB | {a['seconds']} | {a['peak_rss_mb']} MB | "
            f"{s['seconds']} | {s['peak_rss_mb']} MB | {r['ratio']}x | {grow_a:.2f}x, {grow_s:.2f}x |"
        )


if __name__ == "__main__":
    main()
