"""The report's tables as CSV files (cells that would run as formulas are quoted)."""

from __future__ import annotations

import csv
import io

from copilot.reports.content import Report
from copilot.reports.escape import csv_cell


def render(report: Report) -> dict[str, str]:
    """File name -> CSV text, one per table."""
    out = {}
    for table in report.tables:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(table.headers)
        writer.writerows([csv_cell(v) for v in row] for row in table.rows)
        out[f"{table.name}.csv"] = buffer.getvalue()
    return out
