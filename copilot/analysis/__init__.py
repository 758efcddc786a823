"""Traffic analysis of canonical Apigee records, streamed chunk by chunk.

``Analyzer().add(chunk)`` for each canonical chunk (``copilot.logs.schema``),
then ``.finish()`` gives an ``Analysis``: per proxy, app, client id, consumer
(proxy x app x client id) and endpoint (proxy x verb x path template) request
counts, 4xx/5xx/gateway-429/backend-429 errors, per-second and per-minute rate
distributions and latency quantiles; top consumers; per-minute series per
proxy and per consumer; and anomaly windows with the clients that drove them.
``analyze(chunks)`` does both steps. Memory follows the aggregates (time span
x groups), not the number of rows.
"""

from copilot.analysis.accumulate import Analyzer, analyze
from copilot.analysis.anomalies import Anomaly, AnomalyConfig, Driver, detect
from copilot.analysis.baseline import choose_seasonality, seasonal_baseline, slots
from copilot.analysis.chunk import COLUMNS_USED
from copilot.analysis.endpoints import template_path, template_paths
from copilot.analysis.result import Analysis, GroupStats, Latency, Rates, TopConsumer
from copilot.analysis.scoring import METRICS, FlagRules, flag_minutes

__all__ = [
    "COLUMNS_USED",
    "Analysis",
    "Analyzer",
    "Anomaly",
    "AnomalyConfig",
    "Driver",
    "FlagRules",
    "GroupStats",
    "METRICS",
    "Latency",
    "Rates",
    "TopConsumer",
    "analyze",
    "choose_seasonality",
    "detect",
    "flag_minutes",
    "seasonal_baseline",
    "slots",
    "template_path",
    "template_paths",
]
