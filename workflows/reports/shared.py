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
# The fan-out child of a report run: this and the run's run id (unique, and replay-stable).
ANALYSIS_PREFIX = "report-analysis-"

DISCOVER_ACTIVITY = "atc.reports.discover"
RENDER_ACTIVITY = "atc.reports.render"
WEBHOOK_ACTIVITY = "atc.reports.webhook"
COMMIT_ACTIVITY = "atc.reports.commit"
FAILED_RUNS_ACTIVITY = "atc.reports.failed_runs"

# A worker that dies mid-partition is noticed this fast; the partition is read again.
PARTITION_HEARTBEAT_S = 10.0

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
    partitions: int = 0  # how many parts the new files are read in (0: one per file)


@dataclass
class DiscoverInput:
    name: str
    logs: str


@dataclass
class Discovered:
    """The files new in this run, the run's work directory (the fan-out's shared dir), and
    the request attributes the partitions collect (``atc suggest``'s, worked out here: the
    workflow sandbox cannot import what computes them)."""

    files: list[str]
    work_dir: str
    collect: list[str] = field(default_factory=list)


@dataclass
class AnalyzeOutput:
    """Where the three documents are (written by the fan-out), and how the reading went."""

    analysis_path: str
    suggest_path: str
    series_path: str
    records: int
    partitions: int
    retried: int  # partitions read more than once (a worker lost mid-partition)


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
    partitions: int = 0
    partitions_retried: int = 0
    webhook_status: int | None = None
