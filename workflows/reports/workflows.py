"""``LogAnalysisWorkflow``: discover new logs, analyse them (fanned out), render, deliver.

The analysis is a child ``FanoutAnalysisWorkflow`` on this workflow's task
queue (the reports worker hosts it and its activities): one heartbeating
activity per partition, partials and the three documents ``render`` reads by
reference under the run's work directory. A worker lost mid-partition costs
that partition only. Workflow code is deterministic: no I/O, activities
referenced by name, the report's timestamp from ``workflow.now()``. The webhook
POST is retried by Temporal (a 4xx other than 408/429 stops it); the files new
in this run are marked as read only once the report is delivered.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.fanout.shared import WORKFLOW as FANOUT_WORKFLOW
    from workflows.fanout.shared import FanoutInput, FanoutResult
    from workflows.reports.shared import (
        ANALYSIS_PREFIX,
        COMMIT_ACTIVITY,
        DISCOVER_ACTIVITY,
        FAILED_RUNS_ACTIVITY,
        INPUT_ERROR,
        PARTITION_HEARTBEAT_S,
        RENDER_ACTIVITY,
        REPORT_WORKFLOW,
        WEBHOOK_ACTIVITY,
        WEBHOOK_REFUSED,
        AnalyzeOutput,
        CommitInput,
        Discovered,
        DiscoverInput,
        RenderInput,
        RenderOutput,
        ReportInput,
        ReportResult,
        WebhookInput,
    )

IO_RETRY = RetryPolicy(maximum_attempts=5, non_retryable_error_types=[INPUT_ERROR])
WEBHOOK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=8,
    non_retryable_error_types=[INPUT_ERROR, WEBHOOK_REFUSED],
)


@workflow.defn(name=REPORT_WORKFLOW)
class LogAnalysisWorkflow:
    """One report run (started by the report's schedule or ``atc reports run``)."""

    @workflow.run
    async def run(self, data: ReportInput) -> ReportResult:
        found = await workflow.execute_activity(
            DISCOVER_ACTIVITY,
            DiscoverInput(data.name, data.logs),
            result_type=Discovered,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=IO_RETRY,
        )
        files = found.files
        if not files:
            return ReportResult(data.name, "no new logs")
        run_id = workflow.info().run_id
        analyzed = await self._analyze(data, found)
        # Milliseconds: two runs of one report may start within a second (a manual run).
        now = workflow.now()
        stamp = f"{now:%Y%m%dT%H%M%S}.{now.microsecond // 1000:03d}Z"
        runs = await workflow.execute_activity(
            FAILED_RUNS_ACTIVITY,
            result_type=list[dict[str, str]] | None,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=IO_RETRY,
        )
        rendered = await workflow.execute_activity(
            RENDER_ACTIVITY,
            RenderInput(data.name, analyzed, data.formats, stamp, run_id, runs),
            result_type=RenderOutput,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=IO_RETRY,
        )
        status = None
        if data.webhook:
            status = await workflow.execute_activity(
                WEBHOOK_ACTIVITY,
                WebhookInput(data.webhook, rendered.body_path),
                result_type=int,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=WEBHOOK_RETRY,
            )
        await workflow.execute_activity(
            COMMIT_ACTIVITY,
            CommitInput(data.name, files, run_id),
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=IO_RETRY,
        )
        return ReportResult(
            data.name, "delivered", rendered.out_dir, rendered.files, files,
            analyzed.records, analyzed.partitions, analyzed.retried, status,
        )  # fmt: skip

    async def _analyze(self, data: ReportInput, found: Discovered) -> AnalyzeOutput:
        """The fan-out child: partitions on any reports worker, the documents by reference."""
        info = workflow.info()
        child = FanoutInput(
            found.files, found.work_dir, data.partitions, collect=found.collect,
            headroom=data.headroom, heartbeat_s=PARTITION_HEARTBEAT_S, documents=True,
        )  # fmt: skip
        result = await workflow.execute_child_workflow(
            FANOUT_WORKFLOW,
            child,
            id=f"{ANALYSIS_PREFIX}{info.run_id}",
            task_queue=info.task_queue,
            result_type=FanoutResult,
        )
        docs = result.merged.documents or {}
        return AnalyzeOutput(
            docs["analysis"].path, docs["suggest"].path, docs["series"].path,
            result.merged.records, len({p.partition for p in result.partitions}),
            result.retried(),
        )  # fmt: skip
