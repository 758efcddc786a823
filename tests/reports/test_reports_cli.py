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
