"""Per-minute time series for charts and anomaly detection.

``proxy_minutes``: one row per proxy and minute of the proxy's active span
(first to last minute with traffic, quiet minutes included as zeros) with
requests, 4xx, 5xx, gateway 429s, backend 429s and total-latency p50/p95 from
the coarse per-minute histogram (~5 % relative error; NaN in quiet minutes).

``app_minutes``: one row per consumer (proxy, app, client id) and minute *with
traffic* (absent rows are zeros), with the same counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

from copilot.analysis import sketch
from copilot.analysis.outcomes import FIELDS, field_sums
from copilot.analysis.rates import group_starts
from copilot.analysis.sparse import GROUP_BITS, by_group
from copilot.timeunits import MINUTE_MS

MINUTE_SHIFT = 8  # minute cells hold minute << 8 | sub-index (outcome or coarse bucket)
Cells = tuple[np.ndarray, np.ndarray]
_NONE = (np.zeros(0, np.int64), np.zeros(0, np.int32))
_SUB_MASK = (1 << MINUTE_SHIFT) - 1


def minute_index(minutes: np.ndarray) -> pd.DatetimeIndex:
    """Unix minutes as UTC millisecond timestamps."""
    values = (np.asarray(minutes, dtype=np.int64) * MINUTE_MS).astype("datetime64[ms]")
    return pd.DatetimeIndex(values).tz_localize("UTC")


def minute_blocks(cells: Iterable[Cells]) -> Iterator[Cells]:
    """Key-sorted blocks of (group, minute << 8 | sub) cells re-cut at minute boundaries.

    Each minute's cells end up in one block, so per-minute figures can be
    computed block by block (a minute split across blocks is carried over).
    """
    shift = GROUP_BITS + MINUTE_SHIFT
    carry_keys, carry_counts = np.zeros(0, np.int64), np.zeros(0, np.int32)
    for keys, counts in cells:
        if carry_keys.size:
            keys, counts = np.r_[carry_keys, keys], np.r_[carry_counts, counts]
        if not keys.size:
            continue
        cut = int(np.searchsorted(keys, (int(keys[-1]) >> shift) << shift))
        if cut:
            yield keys[:cut], counts[:cut]
        carry_keys, carry_counts = keys[cut:], counts[cut:]
    if carry_keys.size:
        yield carry_keys, carry_counts


def _by_group_minute(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Per-block frames as one, ordered by group then minute (as one sort of all cells gives)."""
    out = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    order = np.lexsort((out["minute"].to_numpy(), out["group"].to_numpy()))
    return out.take(order).reset_index(drop=True)


def sparse_minutes(cells: Iterable[Cells]) -> pd.DataFrame:
    """Rows per (group, minute) with traffic, from (group, minute << 8 | outcome) cells.

    ``cells``: key-sorted blocks (``SparseCounts.blocks``), worked through a
    minute-aligned block at a time so the temporaries stay small.
    """
    frames = [_sparse_minutes(*block) for block in minute_blocks(cells)]
    return _by_group_minute(frames or [_sparse_minutes(*_NONE)])


def _sparse_minutes(keys: np.ndarray, counts: np.ndarray) -> pd.DataFrame:
    group, t, counts = by_group(keys, counts)
    minute, code = t >> MINUTE_SHIFT, t & _SUB_MASK
    gm = (group << 32) | minute  # sorted, so each (group, minute) row is one run
    starts = group_starts(gm)
    row = np.cumsum(np.r_[False, gm[1:] != gm[:-1]]) if gm.size else gm
    sums = field_sums(row, code, counts, starts.size)
    return pd.DataFrame({"group": group[starts], "minute": minute[starts], **sums})


def dense_minutes(sparse: pd.DataFrame) -> pd.DataFrame:
    """Fill each group's span between its first and last minute with zero rows."""
    if sparse.empty:
        return sparse
    span = sparse.groupby("group", sort=True)["minute"].agg(["min", "max"])
    first = span["min"].to_numpy()
    lengths = span["max"].to_numpy() - first + 1
    starts = np.cumsum(lengths) - lengths
    dense = pd.DataFrame(
        {
            "group": np.repeat(span.index.to_numpy(), lengths),
            "minute": np.repeat(first - starts, lengths) + np.arange(lengths.sum()),
        }
    )
    which = np.searchsorted(span.index.to_numpy(), sparse["group"].to_numpy())
    pos = starts[which] + sparse["minute"].to_numpy() - first[which]
    for field in FIELDS:
        values = np.zeros(len(dense), dtype=np.int64)
        values[pos] = sparse[field].to_numpy()
        dense[field] = values
    return dense


def minute_latency(cells: Iterable[Cells]) -> pd.DataFrame:
    """p50/p95 total latency per (group, minute) from coarse histogram cells (blocks, as above)."""
    frames = [_minute_latency(*block) for block in minute_blocks(cells)]
    return _by_group_minute(frames or [_minute_latency(*_NONE)])


def _minute_latency(keys: np.ndarray, counts: np.ndarray) -> pd.DataFrame:
    group, t, counts = by_group(keys, counts)
    minute, bucket = t >> MINUTE_SHIFT, t & _SUB_MASK
    real = bucket != sketch.COARSE_NAN
    gm = (group[real] << 32) | minute[real]
    present, idx = sketch.sparse_quantiles(gm, bucket[real], counts[real], (0.5, 0.95))
    g, m = present >> 32, present & 0xFFFFFFFF
    values = sketch.coarse_value(idx)
    return pd.DataFrame({"group": g, "minute": m, "p50_ms": values[:, 0], "p95_ms": values[:, 1]})


def label_minutes(frame: pd.DataFrame, labels: dict[str, pd.Categorical]) -> pd.DataFrame:
    """Replace ``group``/``minute`` integers by label columns and timestamps."""
    out = pd.DataFrame({name: cat.take(frame["group"].to_numpy()) for name, cat in labels.items()})
    out["minute"] = minute_index(frame["minute"].to_numpy())
    for column in frame.columns.drop(["group", "minute"]):
        out[column] = frame[column].to_numpy()
    return out


def second_counts(keys: np.ndarray, counts: np.ndarray, labels: dict[str, pd.Categorical]):
    """Per-second request counts from (group, second) cells, labelled, by group then time."""
    group, second, counts = by_group(keys, counts)
    out = pd.DataFrame({name: cat.take(group) for name, cat in labels.items()})
    out["second"] = pd.to_datetime(second * 1000, unit="ms", utc=True).as_unit("ms")
    out["requests"] = counts
    return out
