"""Speed and peak memory of the streaming Analyzer (a script, not a test).

    .venv/bin/python -m tests.analysis.speed_analyzer 1000000 5000000
    .venv/bin/python -m tests.analysis.speed_analyzer --file bench/out/analytics-5000000.csv

Sizes: in a fresh process each, synthetic canonical chunks (500k rows, 7 days;
``tests.analysis.synth``) are built with numpy and fed to ``Analyzer``.
``--file``: an analytics export is streamed through atc's reader instead.
Either way only ``add`` + ``finish`` are timed (wall and CPU); chunk
generation or parsing is not. Peak RSS is the process's (chunks are built or
read one at a time, so it includes one chunk in flight).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from collections.abc import Iterable

import pandas as pd


def _synthetic(rows: int) -> Iterable[pd.DataFrame]:
    from tests.analysis.synth import synthetic_chunks

    return synthetic_chunks(rows)


def _from_file(path: str) -> Iterable[pd.DataFrame]:
    from copilot.logs.quarantine import Quarantine
    from copilot.logs.reader import ReadOptions, iter_chunks
    from copilot.pipeline import ANALYSIS_COLUMNS

    return iter_chunks([path], Quarantine(), ReadOptions(columns=ANALYSIS_COLUMNS))


def run(label: str, chunks: Iterable[pd.DataFrame]) -> None:
    from copilot.analysis import Analyzer

    analyzer = Analyzer()
    spent = cpu = 0.0
    for chunk in chunks:
        started, cpu_started = time.perf_counter(), time.process_time()
        analyzer.add(chunk)
        spent += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
    added = spent
    started, cpu_started = time.perf_counter(), time.process_time()
    result = analyzer.finish()
    spent += time.perf_counter() - started
    cpu += time.process_time() - cpu_started
    rows = result.records
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{label}: {rows:,} rows: add {added:5.2f} s, finish {spent - added:5.2f} s, "
        f"total {spent:5.2f} s (cpu {cpu:5.2f} s; {rows / spent / 1e6:4.2f} M rows/s), "
        f"peak RSS {peak_mb:5.0f} MB, {len(result.endpoints)} endpoints, "
        f"{len(result.anomalies)} anomalies"
    )


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one"]:
        run("synthetic", _synthetic(int(argv[1])))
        return
    if argv[:1] == ["--file"]:
        run(argv[1], _from_file(argv[1]))
        return
    for size in argv or ["1000000", "5000000"]:
        command = [sys.executable, "-m", "tests.analysis.speed_analyzer", "--one", size]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main(sys.argv[1:])
