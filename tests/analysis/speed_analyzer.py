"""Speed and peak memory of the streaming Analyzer (a script, not a test).

    .venv/bin/python -m tests.analysis.speed_analyzer 1000000 5000000

For each size, in a fresh process: synthetic canonical chunks (500k rows, 7
days) are built with numpy and fed to ``Analyzer``; the time spent in
``add`` + ``finish`` is reported (wall and CPU; chunk generation excluded), with the
process's peak RSS (generation included: chunks are built one at a time).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time


def run(rows: int) -> None:
    from copilot.analysis import Analyzer
    from tests.analysis.synth import synthetic_chunks

    analyzer = Analyzer()
    spent = cpu = 0.0
    for chunk in synthetic_chunks(rows):
        started, cpu_started = time.perf_counter(), time.process_time()
        analyzer.add(chunk)
        spent += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
    added = spent
    started, cpu_started = time.perf_counter(), time.process_time()
    result = analyzer.finish()
    spent += time.perf_counter() - started
    cpu += time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{rows:>10,} rows: add {added:6.2f} s, finish {spent - added:5.2f} s, "
        f"total {spent:6.2f} s (cpu {cpu:5.2f} s; {rows / spent / 1e6:5.2f} M rows/s), "
        f"peak RSS {peak_mb:5.0f} MB, "
        f"{len(result.endpoints)} endpoints, {len(result.anomalies)} anomalies"
    )


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--one":
        run(int(argv[1]))
        return
    for size in argv or ["1000000", "5000000"]:
        subprocess.run(
            [sys.executable, "-m", "tests.analysis.speed_analyzer", "--one", size], check=True
        )


if __name__ == "__main__":
    main(sys.argv[1:])
