"""Benchmark: ingest the same N analytics records from CSV, Parquet and Avro, DuckDB beside.

    .venv/bin/python bench/bench_ingest.py --rows 1000000

Writes the records once per format (atc's own generator, 7 days, cached in
bench/out/ingest-N.*; writing is not measured), then, each in a fresh process
so each peak RSS is its own:

- atc: read + normalise every file to canonical chunks (``copilot.logs.reader.
  iter_chunks``, all canonical columns), counting records;
- atc-records (Avro, with ``--avro-records``): the same Avro file through
  fastavro's record-by-record path (``read_avro(..., columnar=False)``), the
  reference the column decoder is checked against and the reader before it;
- DuckDB: ``CREATE TABLE AS SELECT * FROM read_csv_auto(...)`` / ``read_parquet(...)``
  of the same file (DuckDB reads Avro only through an extension fetched at run
  time, which this machine cannot do, so there is no DuckDB Avro figure).

``--formats csv,parquet`` limits the formats; ``--repeat N`` measures every
(format, engine) N times in alternating rounds (csv/atc, csv/duckdb, parquet/atc,
... then again), so a machine busy with other work slows every cell alike, and
reports each cell's median (and its min and max).

Prints a Markdown table (seconds, rows/s, peak RSS) and writes
bench/out/ingest.json. Needs ``.[bench]`` (duckdb).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
FORMATS = {"csv": "analytics-csv", "parquet": "parquet", "avro": "avro"}


def generate(rows: int, formats: tuple[str, ...] = tuple(FORMATS)) -> dict[str, Path]:
    """The N-row export in each format asked for (written once, reused)."""
    from copilot.logs.sample import iter_chunks, make_scenario
    from copilot.logs.writers import write_records

    OUT.mkdir(parents=True, exist_ok=True)
    paths = {}
    for ext, fmt in FORMATS.items():
        if ext not in formats:
            continue
        path = OUT / f"ingest-{rows}.{ext}"
        if not path.exists():
            start = time.perf_counter()
            tmp = path.with_name(path.name + ".tmp")
            write_records(iter_chunks(make_scenario(days=7, seed=42, rows=rows)), tmp, fmt)
            tmp.rename(path)
            print(f"wrote {path.name} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        paths[ext] = path
    return paths


def child(engine: str, path: str) -> dict[str, object]:
    """One measurement in this process (run by ``measure`` in a fresh interpreter)."""
    start = time.perf_counter()
    if engine == "atc":
        from copilot.logs.quarantine import Quarantine
        from copilot.logs.reader import iter_chunks

        quarantine = Quarantine()
        chunks = rows = 0
        for chunk in iter_chunks([Path(path)], quarantine):
            chunks += 1
            rows += len(chunk)
        extra = {"chunks": chunks, "rejected": quarantine.rejected}
    elif engine == "atc-records":
        from copilot.logs.avro import read_avro
        from copilot.logs.quarantine import Quarantine

        quarantine = Quarantine()
        chunks = rows = 0
        for chunk in read_avro(Path(path), quarantine, columnar=False):
            chunks += 1
            rows += len(chunk)
        extra = {"chunks": chunks, "rejected": quarantine.rejected}
    else:
        import duckdb

        reader = "read_parquet" if path.endswith(".parquet") else "read_csv_auto"
        con = duckdb.connect()
        con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}(?)", [path])
        rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
        extra = {}
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"engine": engine, "seconds": seconds, "rows": rows, "peak_rss_mb": peak, **extra}


def measure(engine: str, path: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", engine, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(
    rows: int, formats: tuple[str, ...], repeat: int = 1, avro_records: bool = False
) -> list[dict[str, object]]:
    """One result per (format, engine): the median of ``repeat`` alternating rounds."""
    avro_engines = ["atc", "atc-records"] if avro_records else ["atc"]
    cells = [
        (ext, engine, path)
        for ext, path in generate(rows, formats).items()
        for engine in (["atc", "duckdb"] if ext != "avro" else avro_engines)
    ]
    runs: dict[tuple[str, str], list[dict[str, object]]] = {}
    for _ in range(repeat):
        for ext, engine, path in cells:
            got = measure(engine, path)
            got.update(format=ext, file_mb=round(path.stat().st_size / 1e6, 1))
            runs.setdefault((ext, engine), []).append(got)
    results = []
    for got in runs.values():
        times = sorted(float(g["seconds"]) for g in got)
        middle = sorted(got, key=lambda g: float(g["seconds"]))[len(got) // 2]
        results.append({**middle, "runs": len(got), "min_s": times[0], "max_s": times[-1]})
    return results


def table(results: list[dict[str, object]]) -> str:
    lines = [
        "| format | file MB | engine | seconds (median) | min-max | rows/s | peak RSS MB | rows |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        seconds = float(r["seconds"])
        lines.append(
            f"| {r['format']} | {r['file_mb']} | {r['engine']} | {seconds:.2f} | "
            f"{float(r.get('min_s', seconds)):.2f}-{float(r.get('max_s', seconds)):.2f} | "
            f"{int(r['rows']) / seconds:,.0f} | {float(r['peak_rss_mb']):.0f} | {int(r['rows']):,} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default=",".join(FORMATS), help="e.g. csv,parquet")
    parser.add_argument("--repeat", type=int, default=1, help="alternating rounds (median)")
    parser.add_argument(
        "--avro-records", action="store_true", help="also time Avro through fastavro's records"
    )
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        parser.error(f"unknown format(s) {unknown}; known: {', '.join(FORMATS)}")
    results = run(args.rows, formats, max(1, args.repeat), args.avro_records)
    (OUT / "ingest.json").write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
