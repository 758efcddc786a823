"""The report as Markdown, same sections as the HTML (log-derived text escaped)."""

from __future__ import annotations

from copilot.reports.content import Report, Table
from copilot.reports.escape import md_text as esc


def render(report: Report) -> str:
    """The whole document."""
    period = report.period
    parts = [
        f"# atc report: {esc(report.name)}",
        "",
        f"Period {esc(period.get('start'))} to {esc(period.get('end'))}: "
        f"{esc(period.get('records'))} records, {esc(period.get('rejected'))} rejected lines, "
        f"from {esc(len(period.get('sources', [])))} file(s).",
    ]
    if report.narrative:
        parts += ["", "## Summary", "", f"_{esc(report.narrative.get('label'))}_", ""]
        parts.append(esc(report.narrative.get("text")))
    for table in report.tables:
        parts += ["", *_table(table)]
    parts += ["", "## Failed runs", ""]
    if report.runs is None:
        parts.append("no run history")
    else:
        rows = [
            [r.get("id"), r.get("workflow"), r.get("failed_at"), r.get("error")]
            for r in report.runs
        ]
        parts += _table(
            Table("runs", "Failed runs", ["run", "workflow", "failed at", "error"], rows)
        )[2:]
    return "\n".join(parts) + "\n"


def _table(table: Table) -> list[str]:
    lines = [f"## {esc(table.title)}", ""]
    if not table.rows:
        return [*lines, "none"]
    lines.append("| " + " | ".join(esc(h) for h in table.headers) + " |")
    lines.append("|" + "---|" * len(table.headers))
    lines += ["| " + " | ".join(esc(v) for v in row) + " |" for row in table.rows]
    return lines
