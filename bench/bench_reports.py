"""Benchmark: a scheduled report's generation time, and the size of a report run's history.

    .venv/bin/python bench/bench_reports.py --rows 1000000

For the bundled sample and each generated export (``bench_analyze.generate``,
7 days, cached in bench/out/): the analysis read the way a report run reads it
(``suggest_partitioned``: the fan-out's partitions, partials and merge, in this
process) and its three documents, then building, narrating (offline) and
writing HTML, Markdown and CSV, each timed in this process. Then one
``LogAnalysisWorkflow`` run per input on the time-skipping test server with an
in-process worker: wall time and the bytes of its history and of its fan-out
child's (JSON), which should not grow with the logs (the target is under
200 KB; the child's grows by a few KB per partition). ``--partitions N`` as
``atc reports schedule``'s (0: one per file). Figures go to
bench/out/reports_results.json and stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(ROOT))

from bench.bench_analyze import generate  # noqa: E402


def generation(path: Path, tmp: Path, partitions: int = 0) -> dict[str, float]:
    """Seconds for the partitioned pass (partials on disk) and for rendering and writing."""
    from copilot.fanout.local import plan_paths, suggest_partitioned
    from copilot.reports import content, deliver, narrative
    from copilot.reports.documents import report_documents

    start = time.perf_counter()
    docs = report_documents(suggest_partitioned([path], partitions, tmp / "parts"))
    analysed = time.perf_counter()
    report = content.build("bench", docs["analysis"], docs["suggest"], docs["series"], None, [],
                           None)  # fmt: skip
    report.narrative = narrative.offline(report)
    deliver.write_files(tmp / "out", report, list(deliver.FORMATS))
    done = time.perf_counter()
    return {
        "records": docs["analysis"]["records"],
        "partitions": len(plan_paths([path], partitions)),
        "pass_s": analysed - start,
        "render_s": done - analysed,
        "total_s": done - start,
    }


async def workflow_run(path: Path, tmp: Path, partitions: int = 0) -> dict[str, float]:
    """One report run on the time-skipping server: seconds, its and its fan-out child's
    history bytes."""
    from temporalio.testing import WorkflowEnvironment

    from copilot.config import Settings
    from workflows.reports.activities import ReportActivities
    from workflows.reports.shared import ANALYSIS_PREFIX, TASK_QUEUE, ReportInput
    from workflows.reports.worker import MAX_ACTIVITY_THREADS, reports_worker
    from workflows.reports.workflows import LogAnalysisWorkflow
    from workflows.runtime.dryrun_child import find_test_server

    logs = tmp / "logs"
    logs.mkdir(parents=True)
    (logs / path.name).symlink_to(path)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_test_server()
    )
    async with env:
        with ThreadPoolExecutor(MAX_ACTIVITY_THREADS) as pool:
            activities = ReportActivities(Settings(data_dir=tmp / "data"))
            async with reports_worker(env.client, activities, TASK_QUEUE, pool):
                start = time.perf_counter()
                handle = await env.client.start_workflow(
                    LogAnalysisWorkflow.run,
                    ReportInput("bench", str(logs), partitions=partitions),
                    id=f"report-bench-{uuid.uuid4().hex[:6]}", task_queue=TASK_QUEUE,
                )  # fmt: skip
                await handle.result()
                seconds = time.perf_counter() - start
                history = await handle.fetch_history()
                child = env.client.get_workflow_handle(f"{ANALYSIS_PREFIX}{handle.result_run_id}")
                child_history = await child.fetch_history()
    return {
        "workflow_s": seconds,
        "history_bytes": len(history.to_json().encode()),
        "child_history_bytes": len(child_history.to_json().encode()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--no-temporal", action="store_true", help="skip the workflow runs")
    parser.add_argument("--partitions", type=int, default=0, help="as atc reports schedule's")
    args = parser.parse_args()
    from copilot.config import Settings

    inputs = [("bundled sample", Settings().sample_path)]
    inputs += [(f"{rows:,} rows", generate(rows)) for rows in args.rows]
    results = []
    for label, path in inputs:
        tmp = Path(tempfile.mkdtemp(prefix="atc-bench-reports-"))
        try:
            row = {"input": label, **generation(path, tmp / "gen", args.partitions)}
            if not args.no_temporal:
                row.update(asyncio.run(workflow_run(path, tmp / "wf", args.partitions)))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        results.append(row)
        print(json.dumps(row), file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "reports_results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print("| input | records | partitions | pass | render + write | workflow run | history |"
          " child history |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        wf = f"{r['workflow_s']:.2f} s" if "workflow_s" in r else "-"
        size = f"{r['history_bytes'] / 1000:.1f} KB" if "history_bytes" in r else "-"
        child = f"{r['child_history_bytes'] / 1000:.1f} KB" if "history_bytes" in r else "-"
        print(f"| {r['input']} | {r['records']:,} | {r['partitions']} | {r['pass_s']:.2f} s | "
              f"{r['render_s']:.2f} s | {wf} | {size} | {child} |")  # fmt: skip


if __name__ == "__main__":
    main()
