"""Analysis fanned out over partitions: plan, read each alone, merge exactly.

``plan_paths`` splits log files into partitions (files, newline-aligned byte
ranges, Parquet row-group runs); ``run_partition`` reads one and writes its
partial aggregates to a directory; ``merge_files`` reads the partials back,
checked, and merges them into the ``AnalysisRun`` a single pass makes.
``analyze_partitioned`` does all three in this process (tests, benchmarks);
``workflows.fanout`` runs them as Temporal activities on any number of
workers. For ``atc suggest`` a partition also collects its requests
(``copilot.fanout.requests``) and ``suggest_partitioned`` merges both and builds
the advice. See docs/fanout.md.
"""

from copilot.fanout.local import (
    analyze_partitioned,
    merge_files,
    plan_paths,
    run_partition,
    suggest_partitioned,
)
from copilot.fanout.partition import Partition

__all__ = [
    "Partition",
    "analyze_partitioned",
    "merge_files",
    "plan_paths",
    "run_partition",
    "suggest_partitioned",
]
