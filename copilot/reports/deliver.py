"""Delivery: the report's files under the data directory, and an optional webhook POST.

Files go to ``<data_dir>/reports/<NAME>/<timestamp>/``: ``report.html``,
``report.md``, one CSV per table, and ``summary.json`` (what the next report
compares against). The webhook body is Slack-compatible (``text`` and
``blocks``). Webhook URLs are hostile input: only http(s) with a host, no
userinfo, no redirects followed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from copilot.errors import ExternalError, InputError
from copilot.reports import csvs, html, markdown
from copilot.reports.content import Report
from copilot.reports.discover import report_root
from copilot.reports.options import FORMATS

SUMMARY_FILE = "summary.json"
WEBHOOK_TIMEOUT_S = 10.0


class WebhookRefused(ExternalError):
    """The receiver answered with a status that retrying will not change."""


def check_formats(formats: list[str]) -> list[str]:
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise InputError(f"formats {formats}: choose from {', '.join(FORMATS)}")
    return list(dict.fromkeys(formats))


def check_webhook(url: str) -> str:
    """The URL if it is an http(s) URL with a host and no userinfo; else InputError."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # a malformed port raises here
    except ValueError as exc:
        raise InputError(f"webhook URL is malformed: {exc}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise InputError("webhook URL must be http:// or https:// with a host")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InputError("webhook URL must not carry userinfo (user:password@)")
    if any(ord(c) < 0x21 or c in "\\" for c in url):
        raise InputError("webhook URL has spaces, control characters or backslashes")
    return url


def write_files(out_dir: Path, report: Report, formats: list[str]) -> list[str]:
    """Write the chosen formats and the summary; returns the file names."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    if "html" in formats:
        files["report.html"] = html.render(report)
    if "md" in formats:
        files["report.md"] = markdown.render(report)
    if "csv" in formats:
        files.update(csvs.render(report))
    files[SUMMARY_FILE] = json.dumps(report.summary, indent=1, sort_keys=True)
    for name, body in files.items():
        (out_dir / name).write_text(body, encoding="utf-8")
    return sorted(files)


def previous_summary(data_dir: Path | str, name: str, before: str) -> dict[str, Any] | None:
    """The summary of the newest report of ``name`` older than the ``before`` timestamp."""
    root = report_root(data_dir, name)
    if not root.is_dir():
        return None
    older = sorted(
        p.name for p in root.iterdir() if (p / SUMMARY_FILE).exists() and p.name < before
    )
    if not older:
        return None
    return dict(json.loads((root / older[-1] / SUMMARY_FILE).read_text(encoding="utf-8")))


def slack_escape(text: str) -> str:
    """Slack mrkdwn control characters (a name could otherwise forge a link or mention)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_body(report: Report, out_dir: Path) -> dict[str, Any]:
    """A Slack-compatible message: the summary and where the files are."""
    period = report.period
    head = slack_escape(
        f"atc report {report.name}: {period.get('start')} to {period.get('end')}, "
        f"{period.get('records', 0):,} records"
    )
    summary = slack_escape(report.narrative.get("text", ""))
    where = slack_escape(f"files: {out_dir}")
    return {
        "text": f"{head}\n{summary}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": head[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": summary[:2900] or "-"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": where[:2900]}]},
        ],
    }


def post_webhook(url: str, body: dict[str, Any]) -> int:
    """POST ``body``; raises ExternalError to retry, WebhookRefused when retrying cannot help."""
    check_webhook(url)
    try:
        response = httpx.post(url, json=body, timeout=WEBHOOK_TIMEOUT_S, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise ExternalError(f"webhook unreachable: {type(exc).__name__}") from None
    status = response.status_code
    if status < 300:
        return status
    if 400 <= status < 500 and status not in (408, 429):
        raise WebhookRefused(f"webhook answered {status}")
    raise ExternalError(f"webhook answered {status}")
