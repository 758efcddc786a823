"""Inputs, outputs and names shared by the report workflow, its activities and starter.

Pure dataclasses (imported inside the workflow sandbox). Payloads carry file
paths and small numbers only: the analysis documents, series and rendered
files stay under the data directory and travel by reference, which keeps a
report run's history small whatever the size of the logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The worker and the starter use ``Settings.reports_task_queue``; tests use this.
TASK_QUEUE = "atc-reports"
REPORT_WORKFLOW = "LogAnalysisWorkflow"
SCHEDULE_PREFIX = "atc-report-"
WORKFLOW_PREFIX = "report-"

DISCOVER_ACTIVITY = "atc.reports.discover"
ANALYZE_ACTIVITY = "atc.reports.analyze"
RENDER_ACTIVITY = "atc.reports.render"
WEBHOOK_ACTIVITY = "atc.reports.webhook"
COMMIT_ACTIVITY = "atc.reports.commit"
FAILED_RUNS_ACTIVITY = "atc.reports.failed_runs"

# A worker that dies mid-analysis is noticed this fast; a new attempt resumes.
ANALYZE_HEARTBEAT_S = 10.0

# ApplicationError types the retry policies stop on.
INPUT_ERROR = "InputError"
WEBHOOK_REFUSED = "WebhookRefused"


def schedule_id(name: str) -> str:
    return SCHEDULE_PREFIX + name


def workflow_id(name: str) -> str:
    return WORKFLOW_PREFIX + name


@dataclass
class ReportInput:
    """One report: its name, where its logs are, what to write and where to post."""

    name: str
    logs: str
    formats: list[str] = field(default_factory=lambda: ["html", "md", "csv"])
    webhook: str | None = None
    headroom: float = 1.3


@dataclass
class DiscoverInput:
    name: str
    logs: str


@dataclass
class AnalyzeInput:
    """Analyse ``files``; intermediates go to the run's work directory (``run_id``)."""

    name: str
    files: list[str]
    run_id: str
    headroom: float = 1.3


@dataclass
class AnalyzeOutput:
    """Where the documents are, and how the pass went (``resumed_from`` > 0: resumed)."""

    analysis_path: str
    suggest_path: str
    series_path: str
    records: int
    chunks: int
    resumed_from: int
    attempt: int


@dataclass
class RenderInput:
    name: str
    analyzed: AnalyzeOutput
    formats: list[str]
    stamp: str
    run_id: str
    # Failed runs of approved drafts; None when the server could not list them.
    runs: list[dict[str, str]] | None = None


@dataclass
class RenderOutput:
    out_dir: str
    files: list[str]
    body_path: str
    narrative_label: str


@dataclass
class WebhookInput:
    url: str
    body_path: str


@dataclass
class CommitInput:
    name: str
    files: list[str]
    run_id: str


@dataclass
class ReportResult:
    """What a run did (its workflow result; ``atc reports run --wait`` prints it)."""

    name: str
    status: str
    out_dir: str | None = None
    files: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    records: int = 0
    chunks: int = 0
    resumed_from: int = 0
    analyze_attempt: int = 0
    webhook_status: int | None = None
