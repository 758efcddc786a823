"""``FanoutAnalysisWorkflow``: plan, one activity per partition (bounded), merge.

With ``collect`` (``atc suggest --temporal``, and a report run as a child of
``LogAnalysisWorkflow``) the partitions also collect their requests and the run
ends with one activity that merges both kinds of partial and builds the
throttling advice (for a report, also the analysis document and hourly series).

Workflow code is deterministic: activities are referenced by name and the
run directory is named after the run id. At most ``max_concurrent``
partitions are in flight; each runs on whichever worker of the task queue
polls first, so adding worker processes (on this host or others that see
the same shared directory) adds readers.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.fanout.shared import (
        INPUT_ERROR,
        MERGE_ACTIVITY,
        PARTITION_ACTIVITY,
        PLAN_ACTIVITY,
        SUGGEST_ACTIVITY,
        WORKFLOW,
        FanoutInput,
        FanoutResult,
        MergedRef,
        MergeInput,
        PartialRef,
        PartitionInput,
        PartitionSpec,
        PlanInput,
        SuggestInput,
    )

# Bad input (a file that is not a log) is not retried; anything else is.
_STOP = [INPUT_ERROR, "LogFormatError", "UsageError", "ConfigError"]
IO_RETRY = RetryPolicy(maximum_attempts=5, non_retryable_error_types=_STOP)
PARTITION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_attempts=10, non_retryable_error_types=_STOP
)


@workflow.defn(name=WORKFLOW)
class FanoutAnalysisWorkflow:
    """One fan-out run (``atc analyze --temporal``, or ``atc suggest --temporal``)."""

    @workflow.run
    async def run(self, data: FanoutInput) -> FanoutResult:
        parts = await workflow.execute_activity(
            PLAN_ACTIVITY,
            PlanInput(data.paths, data.partitions, data.read),
            result_type=list[PartitionSpec],
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=IO_RETRY,
        )
        run_dir = f"{data.shared_dir.rstrip('/')}/runs/{workflow.info().run_id}"
        gate = asyncio.Semaphore(max(1, data.max_concurrent))
        keep = data.quarantine_file is not None

        async def one(part: PartitionSpec) -> list[PartialRef]:
            async with gate:
                return await workflow.execute_activity(
                    PARTITION_ACTIVITY,
                    PartitionInput(run_dir, part, data.read, keep, data.collect, data.piece_bytes),
                    result_type=list[PartialRef],
                    start_to_close_timeout=timedelta(hours=2),
                    heartbeat_timeout=timedelta(seconds=data.heartbeat_s),
                    retry_policy=PARTITION_RETRY,
                )

        refs = [ref for pieces in await asyncio.gather(*(one(p) for p in parts)) for ref in pieces]
        if data.collect is not None:  # atc suggest: both merges and the advice, one activity
            suggested = await workflow.execute_activity(
                SUGGEST_ACTIVITY,
                SuggestInput(
                    run_dir,
                    refs,
                    data.paths,
                    data.headroom,
                    data.top,
                    data.quarantine_file,
                    data.documents,
                ),
                result_type=MergedRef,
                start_to_close_timeout=timedelta(hours=2),
                retry_policy=IO_RETRY,
            )
            return FanoutResult(suggested, refs, run_dir)
        merged = await workflow.execute_activity(
            MERGE_ACTIVITY,
            MergeInput(run_dir, refs, data.paths, data.quarantine_file),
            result_type=MergedRef,
            start_to_close_timeout=timedelta(hours=1),
            retry_policy=IO_RETRY,
        )
        return FanoutResult(merged, refs, run_dir)
