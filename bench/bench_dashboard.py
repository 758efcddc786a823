"""Benchmark: the dashboard on a big log file, server-side, with Streamlit's AppTest.

    .venv/bin/atc sample --days 30 --rows 1000000 --out bench/out/dashboard-1m.csv
    .venv/bin/python bench/bench_dashboard.py bench/out/dashboard-1m.csv [--before REV]

For the Traffic and Throttling pages, each in a fresh process (cold caches):

- first load: the page's first run on the file (reading and analysing it);
- view change: a rerun after changing only the resolution (and the proxy),
  with the analysis cached: the whole script as AppTest runs it (AppTest
  reruns the whole page; in a browser only the view's fragment reruns, so
  this is an upper bound), and the fragment's own work (the view-model
  functions it calls), median of ``--repeat``.

``--before REV`` measures the pages as they were at git revision REV too (the
tree is exported to a temporary directory with ``git archive``), in the
same run, so before/after share the machine's load. Results go to stdout as
a Markdown table and to bench/out/dashboard.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
# The pages' own widget keys (the same before and after issue 12).
VIEW_CHANGES = {
    "traffic": [("selectbox", "traffic_resolution", ["15 min", "1 hour", "5 min"])],
    "throttling": [("selectbox", "throttling_res", ["15 min", "1 hour", "5 min"])],
}


def _set_source(app, path: str) -> None:  # noqa: ANN001 - AppTest
    app.radio(key="source_kind").set_value("Path on disk").run()
    app.text_input(key="source_paths").input(path)


def measure_page(root: Path, page: str, path: str, repeat: int) -> dict[str, object]:
    """In this process: first load and view-change times of one page (seconds)."""
    from streamlit.testing.v1 import AppTest

    os.chdir(root)
    app = AppTest.from_file(str(root / "app_pages" / f"{page}.py"), default_timeout=600)
    app.run()
    _set_source(app, path)
    start = time.perf_counter()
    app.run()
    first = time.perf_counter() - start
    if app.exception:
        raise SystemExit(f"{page}: {app.exception[0].value}")
    changes = []
    for kind, key, values in VIEW_CHANGES[page]:
        for i in range(repeat):
            getattr(app, kind)(key=key).set_value(values[i % len(values)])
            start = time.perf_counter()
            app.run()
            changes.append(time.perf_counter() - start)
    return {"page": page, "first_load_s": round(first, 2),
            "view_change_s": round(statistics.median(changes), 3)}  # fmt: skip


def measure_views(path: str, repeat: int) -> dict[str, object]:
    """The Traffic fragment's own work on the cached analysis (the part a view change reruns)."""
    from copilot.dashboard import traffic as views
    from copilot.logs.reader import ReadOptions
    from copilot.pipeline import analyze_paths

    run = analyze_paths([path], ReadOptions())
    proxies = [g.key["proxy"] for g in run.analysis.proxies]
    times = []
    for i in range(repeat):
        resolution = list(views.RESOLUTIONS.values())[i % len(views.RESOLUTIONS)]
        start = time.perf_counter()
        views.traffic_series(run.analysis, proxies[: 1 + i % len(proxies)], resolution)
        views.anomaly_table(run.analysis, proxies)
        times.append(time.perf_counter() - start)
    return {
        "page": "traffic (view functions only)",
        "view_change_s": round(statistics.median(times), 3),
    }


def _child(root: Path, page: str, path: str, repeat: int) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=str(root), ATC_DATA_DIR=tempfile.mkdtemp(prefix="atc-bench-"))
    proc = subprocess.run(
        [sys.executable, __file__, path, "--child", page, "--root", str(root), "--repeat", str(repeat)],
        cwd=root, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode:
        return {"page": page, "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _export(rev: str) -> Path:
    target = Path(tempfile.mkdtemp(prefix="atc-before-"))
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="the log file (1M rows for the issue's figures)")
    parser.add_argument("--before", help="also measure the pages at this git revision")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pages", default="traffic,throttling")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = str(Path(args.path).resolve())
    if args.child:
        doc = (
            measure_views(path, args.repeat)
            if args.child == "views"
            else measure_page(Path(args.root), args.child, path, args.repeat)
        )
        print(json.dumps(doc))
        return
    trees = [("after", ROOT)] + ([("before", _export(args.before))] if args.before else [])
    rows = []
    for page in args.pages.split(","):
        for label, root in trees:
            rows.append({"tree": label, **_child(root, page, path, args.repeat)})
            print(json.dumps(rows[-1]), file=sys.stderr)
    rows.append({"tree": "after", **_child(ROOT, "views", path, args.repeat)})
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "dashboard.json").write_text(json.dumps(rows, indent=1))
    print("| tree | page | first load (s) | view change (s) |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['tree']} | {r['page']} | {r.get('first_load_s', '-')} | "
              f"{r.get('view_change_s', r.get('error'))} |")  # fmt: skip


if __name__ == "__main__":
    main()
