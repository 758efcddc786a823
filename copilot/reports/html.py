"""The report as one self-contained HTML file: inline CSS and SVG, no scripts, no links out."""

from __future__ import annotations

from copilot.reports import svg
from copilot.reports.content import Report, Table
from copilot.reports.escape import html_text as esc

STYLE = (
    "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
    "margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px;"
    "text-align:left}th{background:#eee}.note{color:#666;font-size:12px}svg{display:block}"
)


def render(report: Report) -> str:
    """The whole document (every log-derived string HTML-escaped)."""
    period = report.period
    parts = [
        '<!doctype html><html><head><meta charset="utf-8">',
        # No network at view time: nothing may load, even if a name slipped through.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>atc report {esc(report.name)}</title><style>{STYLE}</style></head><body>",
        f"<h1>atc report: {esc(report.name)}</h1>",
        f"<p>Period {esc(period.get('start'))} to {esc(period.get('end'))}: "
        f"{esc(period.get('records'))} records, {esc(period.get('rejected'))} rejected lines, "
        f"from {esc(len(period.get('sources', [])))} file(s).</p>",
        _narrative(report),
        _table(report.table("proxies")),
        svg.bars("requests per proxy", [(r[0], float(r[1])) for r in report.table("proxies").rows]),
        "<h2>Per proxy, per hour</h2>",
    ]
    for proxy, hours in report.series.items():
        parts += [f"<h3>{esc(proxy)}</h3>", svg.proxy_charts(proxy, hours)]
    for table in report.tables:
        if table.name != "proxies":
            parts.append(_table(table))
    parts.append(_runs(report))
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)


def _narrative(report: Report) -> str:
    if not report.narrative:
        return ""
    return (
        f'<h2>Summary</h2><p class="note">{esc(report.narrative.get("label"))}</p>'
        f"<p>{esc(report.narrative.get('text'))}</p>"
    )


def _table(table: Table) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in table.headers)
    if not table.rows:
        return f'<h2>{esc(table.title)}</h2><p class="note">none</p>'
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in table.rows
    )
    return f"<h2>{esc(table.title)}</h2><table><tr>{head}</tr>{body}</table>"


def _runs(report: Report) -> str:
    if report.runs is None:
        return '<h2>Failed runs</h2><p class="note">no run history</p>'
    rows = [
        [r.get("id"), r.get("workflow"), r.get("failed_at"), r.get("error")] for r in report.runs
    ]
    return _table(Table("runs", "Failed runs", ["run", "workflow", "failed at", "error"], rows))
