"""``atc reports``: bad input refused before anything connects (exit 2); text output lines."""

from __future__ import annotations

import pytest

from copilot.cli import run as cli
from copilot.commands.reports import _text


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["bad/name", "--every", "1h"], "report name"),
        (["ok", "--every", "1h", "--webhook", "http://u:p@127.0.0.1/"], "userinfo"),
        (["ok", "--every", "1h", "--webhook", "file:///etc/passwd"], "http"),
        (["ok", "--every", "soon"], "duration"),
        (["ok", "--every", "0h"], "duration"),
        (["ok"], "exactly one of --cron and --every"),
        (["ok", "--every", "1h", "--cron", "0 6 * * 1"], "exactly one"),
        (["ok", "--every", "1h", "--formats", "pdf"], "formats"),
        (["ok", "--every", "1h", "--catchup-window", "1w"], "duration"),
        (["ok", "--every", "1h", "--partitions", "-1"], "--partitions -1"),
    ],
)
def test_bad_schedules_are_refused_before_connecting(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATC_TEMPORAL_ADDRESS", "127.0.0.1:1")  # nothing listens: must not be needed
    assert cli(["reports", "schedule", argv[0], "--logs", "/tmp", *argv[1:]]) == 2
    assert says in capsys.readouterr().err


def test_text_output_keeps_its_line_breaks_and_escapes_each_line() -> None:
    body = {"name": "w", "status": "delivered", "records": 1234, "out_dir": "/d\x1b[2J",
            "files": ["report.md"]}  # fmt: skip
    assert _text("run", body).splitlines() == [
        "w: delivered (1,234 records)",
        "- /d\\x1b[2J/report.md",
    ]


@pytest.mark.parametrize(
    ("partitions", "retried", "says"),
    [(0, 0, "w: delivered (1,234 records)"),
     (3, 0, "w: delivered (1,234 records in 3 partition(s))"),
     (3, 1, "w: delivered (1,234 records in 3 partition(s), 1 read again)")],
)  # fmt: skip
def test_a_run_says_how_many_partitions_it_read_and_read_again(
    partitions: int, retried: int, says: str
) -> None:
    body = {"name": "w", "status": "delivered", "records": 1234, "out_dir": None, "files": [],
            "partitions": partitions, "partitions_retried": retried}  # fmt: skip
    assert _text("run", body) == says


def test_a_run_failed_in_its_fan_out_names_the_atc_error() -> None:
    from temporalio.api.enums.v1 import RetryState
    from temporalio.exceptions import ApplicationError, ChildWorkflowError

    from copilot.errors import InputError, LogFormatError, TemporalError
    from workflows.reports.starter import _run_error

    child = ChildWorkflowError(
        "child failed", namespace="default", workflow_id="report-analysis-r", run_id="r",
        workflow_type="FanoutAnalysisWorkflow", initiated_event_id=1, started_event_id=2,
        retry_state=RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE,
    )  # fmt: skip
    child.__cause__ = ApplicationError("x.csv: not a log", type="LogFormatError")
    cases = [(child, LogFormatError, "x.csv: not a log"),
             (ApplicationError("bad name", type="InputError"), InputError, "bad name"),
             (ApplicationError("410 Gone", type="WebhookRefused"), TemporalError, "410 Gone")]  # fmt: skip
    for cause, kind, message in cases:
        err = _run_error(cause)
        assert type(err) is kind and str(err) == message
