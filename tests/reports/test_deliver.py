"""Delivery and discovery: hostile webhook URLs refused, files found once, the previous summary."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from copilot.errors import ExternalError, InputError
from copilot.reports.deliver import (
    WebhookRefused,
    check_webhook,
    post_webhook,
    previous_summary,
    slack_escape,
)
from copilot.reports.discover import check_name, mark_seen, new_files
from copilot.scopes.server import BackgroundServer
from tests.reports.receiver import Receiver


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/hook",
        "javascript:alert(1)",
        "http://user:secret@127.0.0.1/hook",
        "http://user@127.0.0.1/hook",
        "https:///no-host",
        "http://127.0.0.1:99999/hook",
        "http://127.0.0.1/ho ok",
        "http://127.0.0.1\\@evil.example/",
        "gopher://127.0.0.1/",
    ],
)
def test_hostile_webhook_urls_are_refused(url: str) -> None:
    with pytest.raises(InputError):
        check_webhook(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "https://hooks.example.com/T/B"])
def test_http_and_https_webhooks_are_accepted(url: str) -> None:
    assert check_webhook(url) == url


@pytest.mark.parametrize("name", ["", "a/b", "../up", ".hidden", "x" * 65, "sp ace", "ü"])
def test_report_names_that_are_not_plain_are_refused(name: str) -> None:
    with pytest.raises(InputError):
        check_name(name)


def test_a_post_that_retrying_cannot_fix_is_told_apart() -> None:
    gone, busy = Receiver(fail=1, fail_status=404), Receiver(fail=1, fail_status=503)
    with BackgroundServer(gone.app) as a, BackgroundServer(busy.app) as b:
        with pytest.raises(WebhookRefused):
            post_webhook(a.url + "/hook", {"text": "x"})
        with pytest.raises(ExternalError) as caught:
            post_webhook(b.url + "/hook", {"text": "x"})
        assert not isinstance(caught.value, WebhookRefused)
        assert post_webhook(b.url + "/hook", {"text": "x"}) == 200
    assert busy.posts == [{"text": "x"}] and gone.posts == []


def test_slack_control_characters_are_escaped() -> None:
    assert slack_escape("<!channel> <http://evil|click> & co") == (
        "&lt;!channel&gt; &lt;http://evil|click&gt; &amp; co"
    )


HEADER = "client_received_start_timestamp,apiproxy,response_status_code\n"


def test_a_file_is_new_until_its_report_is_delivered_and_again_when_it_changes(
    tmp_path: Path,
) -> None:
    logs, data = tmp_path / "logs", tmp_path / "data"
    logs.mkdir()
    (logs / "a.csv").write_text(HEADER)
    (logs / ".partial").write_text("x")
    found = new_files(data, "weekly", str(logs))
    assert found == [str((logs / "a.csv").resolve())]
    assert new_files(data, "weekly", str(logs / "*.csv")) == found  # a glob names the same file
    mark_seen(data, "weekly", found)
    assert new_files(data, "weekly", str(logs)) == []
    (logs / "a.csv").write_text(HEADER + "1732000000000,orders,200\n")
    os.utime(logs / "a.csv", ns=(1, 1))
    assert new_files(data, "weekly", str(logs)) == found


def test_files_beside_the_logs_that_are_not_logs_are_left_out_with_a_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.csv").write_text(HEADER)
    (logs / "README.md").write_text("# the sample\n")
    (logs / "scenario.json").write_text('{"incidents": []}\n')
    with caplog.at_level("WARNING"):
        found = new_files(tmp_path / "data", "weekly", str(logs))
    assert found == [str((logs / "a.csv").resolve())]
    assert "README.md" in caplog.text and "scenario.json" in caplog.text


def test_the_previous_summary_is_the_newest_older_one(tmp_path: Path) -> None:
    root = tmp_path / "reports" / "weekly"
    for stamp, value in [("20261101T060000.000Z", 1), ("20261108T060000.000Z", 2),
                         ("20261115T060000.000Z", 3)]:  # fmt: skip
        (root / stamp).mkdir(parents=True)
        (root / stamp / "summary.json").write_text(f'{{"records": {value}}}')
    assert previous_summary(tmp_path, "weekly", "20261115T060000.000Z") == {"records": 2}
    assert previous_summary(tmp_path, "weekly", "20261101T060000.000Z") is None
    assert previous_summary(tmp_path, "other", "20261201T000000.000Z") is None
