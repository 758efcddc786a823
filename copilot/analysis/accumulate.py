"""The streaming analyzer: canonical chunks in (``aggregates``), an ``Analysis`` out (``finish``).

The aggregates are sums of integer counts, so any chunking of the same rows, in
any order, gives identical results; ``finish`` may be called again after more
chunks.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from copilot.analysis.aggregates import Aggregates
from copilot.analysis.finish import build_analysis
from copilot.analysis.result import Analysis


class Analyzer(Aggregates):
    """Streaming traffic analysis: ``add`` canonical chunks, then ``finish``.

    ``top_n`` bounds ``top_consumers``; ``keep_seconds`` also returns the
    per-second request counts per proxy and consumer (for replaying traffic).
    """

    def finish(self) -> Analysis:
        """The result so far (more chunks may be added and ``finish`` called again)."""
        return build_analysis(self)


def analyze(
    chunks: Iterable[pd.DataFrame],
    *,
    top_n: int = 10,
    detect_anomalies: bool = True,
    keep_seconds: bool = False,
) -> Analysis:
    """Analyse a stream of canonical chunks (see ``Analyzer``)."""
    analyzer = Analyzer(top_n=top_n, detect_anomalies=detect_anomalies, keep_seconds=keep_seconds)
    try:
        for chunk in chunks:
            analyzer.add(chunk)
        return analyzer.finish()
    finally:
        analyzer.close()
