"""The three documents a report is rendered from, made from one ``atc suggest`` run.

A report run reads its logs through the fan-out (``workflows.fanout``, with
``documents=True``): the partitions' analysis and request partials are merged,
the advice is built once, and this module turns that run into what
``render`` reads: the analysis document (``atc analyze --json``'s body), the
suggest document (``atc suggest --json``'s, without ``policies_out``) and the
hourly series per proxy. The same function over a single-process
``suggest_paths`` run gives the same bytes (``tests/reports/test_documents.py``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from copilot.commands._output import to_json
from copilot.pipeline import AnalysisRun
from copilot.throttling.run import SuggestRun

KINDS = ("analysis", "suggest", "series")


def report_documents(run: SuggestRun) -> dict[str, Any]:
    """``{"analysis", "suggest", "series"}`` of one run, as ``render`` reads them."""
    return {
        "analysis": AnalysisRun(run.analysis, run.quarantine, run.sources).to_dict(),
        "suggest": run.to_dict(),
        "series": hourly_series(run.analysis.proxy_minutes),
    }


def encode(doc: Any) -> bytes:
    """A document's bytes on disk (``atc ... --json``'s encoding)."""
    return to_json(doc).encode("utf-8")


def hourly_series(minutes: pd.DataFrame) -> dict[str, list[list[Any]]]:
    """Per proxy, per hour: [hour, requests, 4xx+5xx errors, highest minute p95 in ms]."""
    if minutes.empty:
        return {}
    frame = minutes.assign(
        hour=minutes["minute"].dt.floor("h"),
        errors=minutes["errors_4xx"] + minutes["errors_5xx"],
    )
    hourly = frame.groupby(["proxy", "hour"], observed=True).agg(
        requests=("requests", "sum"), errors=("errors", "sum"), p95=("p95_ms", "max")
    )
    out: dict[str, list[list[Any]]] = {}
    for (proxy, hour), row in hourly.iterrows():
        p95 = None if pd.isna(row["p95"]) else round(float(row["p95"]), 1)
        out.setdefault(str(proxy), []).append(
            [hour.isoformat(), int(row["requests"]), int(row["errors"]), p95]
        )
    return out
