"""The streaming accumulator: canonical chunks in, mergeable aggregates kept.

``Analyzer.add`` reduces each chunk to integer arrays (``chunk.prepare``) and
adds sparse counts to a handful of aggregates; it never keeps rows. What it
keeps grows with time span x groups, not with rows:

- per consumer (proxy x app x client id) and per endpoint (proxy x verb x path
  template): counts per outcome code, fine latency histograms (total and
  target time), counts per second;
- per proxy and app: counts per second. Their outcome counts and latency
  histograms, and everything about client ids, derive from the consumers' at
  the end;
- per consumer and minute: counts per outcome code (the per-app minute series,
  and summed per proxy, the proxy minute series);
- per proxy and minute: a coarse histogram of total latency.

Every aggregate is a sum of integer counts, so any chunking of the same rows,
in any order, gives identical results. The per-second ones fill in as the rate
grows (about a cell per request while traffic is sparse), so each keeps at
most ``sparse.SPILL_CELLS`` cells in memory and spills sorted runs to a
scratch directory beyond that (``copilot.analysis.runs``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from copilot.analysis import sketch, sparse
from copilot.analysis.chunk import ChunkView, Vocabs, prepare
from copilot.analysis.outcomes import N_OUTCOMES
from copilot.analysis.series import MINUTE_SHIFT
from copilot.analysis.sparse import SparseCounts


class GroupAccumulator:
    """Aggregates of one grouping: counts per second, per outcome code, per latency bucket."""

    def __init__(self) -> None:
        self.seconds = SparseCounts(budget=sparse.SPILL_CELLS)
        self.outcomes = SparseCounts()
        self.total_ms = SparseCounts()
        self.target_ms = SparseCounts()

    def add(self, group: np.ndarray, view: ChunkView) -> None:
        self.seconds.add_cells(group, view.second)
        self.outcomes.add_cells(group, view.outcome)
        self.total_ms.add_cells(group, view.total_bucket)
        self.target_ms.add_cells(group, view.target_bucket)


class Aggregates:
    """What the streaming analysis keeps: ``add`` folds a canonical chunk in (module docstring).

    Chunks may arrive in any order and may split a second or a minute; their
    categorical columns may have different categories. Memory stays bounded by
    the aggregates (time span x groups), whatever the number of rows.
    """

    def __init__(
        self, *, top_n: int = 10, detect_anomalies: bool = True, keep_seconds: bool = False
    ) -> None:
        self.top_n = top_n
        self.detect_anomalies = detect_anomalies
        self.keep_seconds = keep_seconds
        self.vocabs = Vocabs()
        self.records = 0
        self.skipped = 0
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        self.consumers = GroupAccumulator()
        self.endpoints = GroupAccumulator()
        self.proxy_seconds = SparseCounts(budget=sparse.SPILL_CELLS)
        self.app_seconds = SparseCounts(budget=sparse.SPILL_CELLS)
        self.consumer_minutes = SparseCounts()  # (consumer, minute << 8 | outcome)
        self.proxy_latency = SparseCounts()  # (proxy, minute << 8 | coarse bucket)
        self.outcome_totals = np.zeros(N_OUTCOMES, dtype=np.int64)
        self.unlogged = {name: 0 for name in ("verb", "path", "status")}

    def add(self, chunk: pd.DataFrame) -> None:
        """Fold one canonical chunk into the aggregates."""
        if len(chunk) == 0:
            return
        view, skipped = prepare(chunk, self.vocabs)
        self.skipped += skipped
        if view.size == 0:
            return
        self.records += view.size
        lo, hi = int(view.ts_ms.min()), int(view.ts_ms.max())
        self.first_ms = lo if self.first_ms is None else min(self.first_ms, lo)
        self.last_ms = hi if self.last_ms is None else max(self.last_ms, hi)
        self.consumers.add(view.consumer, view)
        self.outcome_totals += np.bincount(view.outcome, minlength=N_OUTCOMES)
        for name, known in view.known.items():
            self.unlogged[name] += int(known.size - np.count_nonzero(known))
        # An endpoint needs a path: requests logged without one are in every other
        # table but not here (never under a made-up path).
        with_path = view.known["path"]
        self.endpoints.add(
            view.endpoint if with_path.all() else view.endpoint[with_path],
            view if with_path.all() else view.subset(with_path),
        )
        self.proxy_seconds.add_cells(view.proxy, view.second)
        self.app_seconds.add_cells(view.app, view.second)
        minute_cell = view.minute << MINUTE_SHIFT
        self.consumer_minutes.add_cells(view.consumer, minute_cell | view.outcome)
        coarse = sketch.coarse_index(view.total_bucket)
        self.proxy_latency.add_cells(view.proxy, minute_cell | coarse)
        # Path templating allocates from Arrow's pool, which keeps freed pages
        # (mimalloc) unless asked: hand them back so RSS stays flat.
        pa.default_memory_pool().release_unused()

    def seconds_aggregates(self) -> list[SparseCounts]:
        """The per-second aggregates (the ones that spill past their budget)."""
        return [self.consumers.seconds, self.endpoints.seconds, self.proxy_seconds,
                self.app_seconds]  # fmt: skip

    def close(self) -> None:
        """Remove the spilled per-second cells now (dropping the aggregates does it too)."""
        for counts in self.seconds_aggregates():
            counts.close()


assert N_OUTCOMES <= 1 << MINUTE_SHIFT and sketch.COARSE_NAN < 1 << MINUTE_SHIFT
