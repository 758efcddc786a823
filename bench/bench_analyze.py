"""Benchmark: ingest + analyse an N-row Apigee analytics export, with DuckDB as the reference.

    .venv/bin/python bench/bench_analyze.py --rows 1000000 5000000

For each size: generate the file once (atc's own generator, 7 days, cached in
bench/out/), then run `atc`'s pipeline and DuckDB's same aggregation on it,
each in a fresh process so each peak RSS is its own, alternating, `--repeat`
times. Reports the median seconds, rows/s and peak RSS, and the ratio to
DuckDB. Figures go to bench/out/results.json and stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"


def generate(rows: int) -> Path:
    """The N-row export (generated once; generation is not part of the measurement)."""
    from copilot.logs.sample import iter_chunks, make_scenario
    from copilot.logs.writers import write_records

    path = OUT / f"analytics-{rows}.csv"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        tmp = path.with_suffix(".tmp.csv")
        write_records(iter_chunks(make_scenario(days=7, seed=42, rows=rows)), tmp)
        tmp.rename(path)
        print(f"generated {path.name} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return path


def measure(module: str, path: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(rows_list: list[int], repeat: int) -> list[dict[str, object]]:
    results = []
    for rows in rows_list:
        path = generate(rows)
        runs: dict[str, list[dict[str, object]]] = {"atc_run": [], "duckdb_reference": []}
        for _ in range(repeat):
            for module in runs:
                runs[module].append(measure(module, path))
        atc = _summary(runs["atc_run"])
        duck = _summary(runs["duckdb_reference"])
        results.append(
            {
                "rows": rows,
                "file_mb": round(path.stat().st_size / 1e6, 1),
                "atc": atc,
                "duckdb": duck,
                "ratio": round(atc["seconds"] / duck["seconds"], 2),
            }
        )
    return results


def _summary(runs: list[dict[str, object]]) -> dict[str, object]:
    seconds = statistics.median(float(r["seconds"]) for r in runs)
    return {
        "seconds": round(seconds, 2),
        "all_seconds": [round(float(r["seconds"]), 2) for r in runs],
        "rows_per_s": round(int(runs[0]["records"]) / seconds),
        "peak_rss_mb": round(max(float(r["peak_rss_mb"]) for r in runs)),
        "records": runs[0]["records"],
        "engine": runs[0]["engine"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = run(args.rows, args.repeat)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print(
        "| rows | file | atc s | atc rows/s | atc peak RSS | DuckDB s | DuckDB peak RSS | atc / DuckDB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        a, d = r["atc"], r["duckdb"]
        print(
            f"| {r['rows']:,} | {r['file_mb']} MB | {a['seconds']} | {a['rows_per_s']:,} | "
            f"{a['peak_rss_mb']} MB | {d['seconds']} | {d['peak_rss_mb']} MB | {r['ratio']}× |"
        )


if __name__ == "__main__":
    main()
