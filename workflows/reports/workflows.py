"""``LogAnalysisWorkflow``: discover new logs, analyse (resumable), render, deliver.

Workflow code is deterministic: no I/O, activities referenced by name, the
report's timestamp from ``workflow.now()``. The analysis heartbeats and a
retried attempt continues from its last checkpoint; the webhook POST is
retried by Temporal (a 4xx other than 408/429 stops it); the files new in this
run are marked as read only once the report is delivered.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.reports.shared import (
        ANALYZE_ACTIVITY,
        ANALYZE_HEARTBEAT_S,
        COMMIT_ACTIVITY,
        DISCOVER_ACTIVITY,
        FAILED_RUNS_ACTIVITY,
        INPUT_ERROR,
        RENDER_ACTIVITY,
        REPORT_WORKFLOW,
        WEBHOOK_ACTIVITY,
        WEBHOOK_REFUSED,
        AnalyzeInput,
        AnalyzeOutput,
        CommitInput,
        DiscoverInput,
        RenderInput,
        RenderOutput,
        ReportInput,
        ReportResult,
        WebhookInput,
    )

IO_RETRY = RetryPolicy(maximum_attempts=5, non_retryable_error_types=[INPUT_ERROR])
ANALYZE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_attempts=10,
    non_retryable_error_types=[INPUT_ERROR],
)
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
        files = await workflow.execute_activity(
            DISCOVER_ACTIVITY,
            DiscoverInput(data.name, data.logs),
            result_type=list[str],
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=IO_RETRY,
        )
        if not files:
            return ReportResult(data.name, "no new logs")
        run_id = workflow.info().run_id
        analyzed = await workflow.execute_activity(
            ANALYZE_ACTIVITY,
            AnalyzeInput(data.name, files, run_id, data.headroom),
            result_type=AnalyzeOutput,
            start_to_close_timeout=timedelta(hours=2),
            heartbeat_timeout=timedelta(seconds=ANALYZE_HEARTBEAT_S),
            retry_policy=ANALYZE_RETRY,
        )
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
            analyzed.records, analyzed.chunks, analyzed.resumed_from, analyzed.attempt, status,
        )  # fmt: skip
