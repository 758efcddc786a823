"""The report activities, bound to the worker's settings (data directory, LLM endpoint).

The analysis itself is the fan-out's (``workflows.fanout``, a child workflow
the reports worker also hosts). Intermediates (its partials, the three
documents, the webhook body) live in ``<data_dir>/reports/<NAME>/.work/<run id>``,
named by ``discover``, and are removed once the report is delivered.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from copilot.config import Settings
from copilot.drafting.store import STORE_FILE, DraftStore
from copilot.errors import AtcError, InputError
from copilot.reports import content, deliver, discover, narrative
from copilot.runs.approved import TYPE_PREFIX
from copilot.throttling.run import collected_attrs
from workflows.reports import shared

MAX_RUNS = 20


def _stop(exc: AtcError, kind: str = shared.INPUT_ERROR) -> ApplicationError:
    return ApplicationError(exc.line(), type=kind, non_retryable=True)


class ReportActivities:
    """The activities of ``LogAnalysisWorkflow``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def work_dir(self, name: str, run_id: str) -> Path:
        return discover.report_root(self.settings.data_dir, name) / ".work" / run_id

    @activity.defn(name=shared.DISCOVER_ACTIVITY)
    def discover(self, data: shared.DiscoverInput) -> shared.Discovered:
        """Log files new since the last delivered report, and this run's work directory."""
        try:
            files = discover.new_files(self.settings.data_dir, data.name, data.logs)
        except InputError as exc:
            raise _stop(exc) from None
        work = self.work_dir(data.name, activity.info().workflow_run_id)
        return shared.Discovered(files, str(work.absolute()), list(collected_attrs()))

    @activity.defn(name=shared.RENDER_ACTIVITY)
    def render(self, data: shared.RenderInput) -> shared.RenderOutput:
        """Build, narrate and write the report; the webhook body waits in the work dir."""
        docs = {
            kind: json.loads(Path(path).read_text(encoding="utf-8"))
            for kind, path in (("analysis", data.analyzed.analysis_path),
                               ("suggest", data.analyzed.suggest_path),
                               ("series", data.analyzed.series_path))
        }  # fmt: skip
        previous = deliver.previous_summary(self.settings.data_dir, data.name, data.stamp)
        report = content.build(
            data.name, docs["analysis"], docs["suggest"], docs["series"], previous,
            self._drafts(), data.runs,
        )  # fmt: skip
        report.narrative = narrative.narrate(report, self.settings)
        out_dir = discover.report_root(self.settings.data_dir, data.name) / data.stamp
        files = deliver.write_files(out_dir, report, data.formats)
        body = self.work_dir(data.name, data.run_id) / "webhook.json"
        body.parent.mkdir(parents=True, exist_ok=True)
        body.write_text(json.dumps(deliver.webhook_body(report, out_dir)), encoding="utf-8")
        return shared.RenderOutput(
            str(out_dir), files, str(body), report.narrative.get("label", "")
        )

    def _drafts(self) -> list[dict[str, Any]]:
        path = Path(self.settings.data_dir) / STORE_FILE
        return DraftStore(path).list("draft") if path.exists() else []

    @activity.defn(name=shared.FAILED_RUNS_ACTIVITY)
    async def failed_runs(self) -> list[dict[str, str]] | None:
        """Runs of approved drafts that failed, timed out or were terminated (newest 20).

        Runs live in Temporal (their history is the record), so this asks the
        worker's own client; a server without list support gives None.
        """
        query = (
            f'WorkflowType STARTS_WITH "{TYPE_PREFIX}" AND (ExecutionStatus = "Failed" OR '
            'ExecutionStatus = "TimedOut" OR ExecutionStatus = "Terminated")'
        )
        rows: list[dict[str, str]] = []
        try:
            async for wf in activity.client().list_workflows(query, limit=MAX_RUNS):
                rows.append(
                    {"id": wf.id, "workflow": wf.workflow_type,
                     "failed_at": wf.close_time.isoformat() if wf.close_time else "",
                     "error": wf.status.name if wf.status else ""}
                )  # fmt: skip
        except RPCError:
            return None
        return rows

    @activity.defn(name=shared.WEBHOOK_ACTIVITY)
    def webhook(self, data: shared.WebhookInput) -> int:
        """One POST of the report's message; Temporal retries transient failures."""
        body = json.loads(Path(data.body_path).read_text(encoding="utf-8"))
        try:
            return deliver.post_webhook(data.url, body)
        except deliver.WebhookRefused as exc:
            raise _stop(exc, shared.WEBHOOK_REFUSED) from None
        except InputError as exc:
            raise _stop(exc) from None

    @activity.defn(name=shared.COMMIT_ACTIVITY)
    def commit(self, data: shared.CommitInput) -> None:
        """Mark the run's files as read and drop its intermediates."""
        discover.mark_seen(self.settings.data_dir, data.name, data.files)
        shutil.rmtree(self.work_dir(data.name, data.run_id), ignore_errors=True)

    def all(self) -> list[Any]:
        """Every activity, for ``Worker(activities=...)``."""
        return [self.discover, self.failed_runs, self.render, self.webhook, self.commit]
