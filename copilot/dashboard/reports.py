"""The Reports page's view models: delivered reports on disk and the schedules on Temporal.

Delivered reports are read from ``<data_dir>/reports/<NAME>/<timestamp>/`` (the
files ``atc reports`` writes), so they show even when Temporal is down; the
schedules and "run now" go through :mod:`workflows.reports.starter`, as the CLI does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from copilot.config import Settings
from copilot.dashboard.fmt import utc_time
from copilot.reports.options import CATCHUP_WINDOW

HTML = "report.html"


@dataclass(frozen=True)
class Delivered:
    """One delivered copy of a report."""

    name: str
    folder: Path
    files: tuple[str, ...]

    @property
    def when(self) -> datetime | None:
        """The copy's time from its folder name (``20261130T060000.000Z``)."""
        try:
            return datetime.strptime(self.folder.name[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            return None

    @property
    def label(self) -> str:
        return (
            f"{self.name} — {utc_time(self.when)}"
            if self.when
            else f"{self.name} — {self.folder.name}"
        )

    def html(self) -> str | None:
        path = self.folder / HTML
        return path.read_text(encoding="utf-8") if path.is_file() else None


def delivered(data_dir: Path, limit: int = 50) -> list[Delivered]:
    """Every delivered report copy under ``data_dir``, newest first."""
    root = Path(data_dir) / "reports"
    found = []
    for report in sorted(root.iterdir()) if root.is_dir() else []:
        if not report.is_dir():
            continue
        for copy in report.iterdir():
            if copy.is_dir() and not copy.name.startswith("."):
                found.append(
                    Delivered(report.name, copy, tuple(sorted(f.name for f in copy.iterdir())))
                )
    found.sort(key=lambda d: d.folder.name, reverse=True)
    return found[:limit]


def delivered_table(copies: list[Delivered]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"report": d.name, "last delivered": utc_time(d.when), "files": ", ".join(d.files)}
            for d in copies
        ],
        columns=["report", "last delivered", "files"],
    )


def schedules_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """``list_reports`` rows as a table."""
    return pd.DataFrame(
        [
            {
                "report": r["name"],
                "next run": utc_time(r.get("next_run")),
                "last delivered": utc_time(_stamp((r.get("results") or [{}])[0].get("dir"))),
            }
            for r in rows
        ],
        columns=["report", "next run", "last delivered"],
    )


def _stamp(folder: str | None) -> datetime | None:
    return Delivered("", Path(folder), ()).when if folder else None


def _run(coro_fn, settings: Settings, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN001
    from copilot.temporal_connect import connect

    async def go() -> Any:
        client = await connect(settings, within_s=5.0)
        return await coro_fn(client, *args, **kwargs)

    return asyncio.run(go())


def list_schedules(settings: Settings) -> list[dict[str, Any]]:
    from workflows.reports import starter

    return _run(lambda c: starter.list_reports(c, settings), settings)


def schedule(
    settings: Settings, name: str, logs: str, cron: str | None, every: str | None,
    formats: list[str], webhook: str | None,
) -> str:  # fmt: skip
    """Create or replace a report's schedule (checked before connecting, as the CLI does)."""
    from workflows.reports import starter

    data = starter.report_input(name, logs, formats, webhook)
    spec = starter.timing(cron, every)
    catchup = starter.duration(CATCHUP_WINDOW)
    return _run(lambda c: starter.schedule_report(c, settings, data, spec, catchup), settings)


def run_now(settings: Settings, name: str, wait: bool = True) -> dict[str, Any]:
    """Trigger a report now (and wait for its result)."""
    from workflows.reports import starter

    return _run(lambda c: starter.run_now(c, name, wait=wait), settings)
