"""The capacity knee of a proxy's backend: the throughput above which it degrades.

docs/throttling.md, 'Capacity knee': the lowest throughput bin where the
median latency exceeds ~1.5x its healthy value or the 5xx share exceeds ~1 %.
Throughput is the requests per minute the gateway let through (its own
SpikeArrest/Quota refusals never reach the backend); latency is the target's
time, pooled over every request of the bin's minutes (a 2 % log histogram, not
a median of noisy per-minute medians); errors are 5xx and backend 429s (both
capacity signals). The healthy reference is the busier half's lower part: the
minutes at or below the median throughput. A bin counts only with enough
minutes and requests behind it, and a knee must be *sustained*: most supported
bins above it are degraded too, so one unlucky bin is not a knee. When no bin
qualifies the answer is "none found" up to the highest throughput observed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from copilot.analysis.outcomes import E5XX, GATEWAY
from copilot.analysis.scoring import count_score
from copilot.throttling.collect import Requests

LATENCY_FACTOR = 1.5
ERROR_SHARE = 0.01
MIN_MINUTES = 5
MIN_REQUESTS = 30
_LOG_STEP = math.log(1.02)


@dataclass(frozen=True)
class Knee:
    """A proxy's knee in requests/min (None: none found up to ``observed_max_rpm``)."""

    proxy: str
    rpm: float | None
    observed_max_rpm: float
    healthy_latency_ms: float | None
    healthy_error_share: float
    latency_at_knee_ms: float | None
    error_share_at_knee: float | None
    reason: str
    bins: pd.DataFrame  # throughput bin -> minutes, requests, latency, error share, degraded

    @property
    def rps(self) -> float | None:
        return None if self.rpm is None else self.rpm / 60.0

    def to_dict(self) -> dict:
        return {
            "proxy": self.proxy,
            "found": self.rpm is not None,
            "rpm": self.rpm,
            "rps": None if self.rps is None else round(self.rps, 4),
            "observed_max_rpm": self.observed_max_rpm,
            "healthy_latency_ms": _round(self.healthy_latency_ms),
            "healthy_error_share": round(self.healthy_error_share, 5),
            "latency_at_knee_ms": _round(self.latency_at_knee_ms),
            "error_share_at_knee": None
            if self.error_share_at_knee is None
            else round(self.error_share_at_knee, 4),
            "reason": self.reason,
        }


def _round(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 1)


def find_knee(req: Requests, proxy: int) -> Knee:
    """The knee of one proxy (see module docstring)."""
    name = req.proxies[proxy]
    rows = req.rows_of_proxy(proxy)
    cls = req.outcome[rows] >> 1
    rows, cls = rows[cls != GATEWAY], cls[cls != GATEWAY]
    if rows.size == 0:
        return Knee(name, None, 0.0, None, 0.0, None, None, "no traffic reached the backend",
                    pd.DataFrame())  # fmt: skip
    minute = req.ts[rows] // 60_000
    uniq, per_row = np.unique(minute, return_inverse=True)
    per_minute = _load(uniq, np.bincount(per_row))
    observed = float(per_minute.max())
    width = max(1, math.ceil(observed / 40))
    fine = (per_minute // width).astype(np.int64)
    edges = _pooled_edges(fine, np.bincount(fine[per_row]))  # sparse bins pooled upwards
    minute_bin = np.searchsorted(edges, fine, side="right") - 1
    row_bin = minute_bin[per_row]
    n_bins = edges.size
    bad = (cls == E5XX) | ((req.outcome[rows] & 1) == 1)
    lat = req.target_ms[rows]
    has = ~np.isnan(lat) & (lat > 0)
    bucket = np.floor(np.log(np.maximum(lat[has], 1e-3)) / _LOG_STEP).astype(np.int64)
    lo_bucket = int(bucket.min()) if bucket.size else 0
    hist = np.zeros((n_bins, int(bucket.max() - lo_bucket) + 1 if bucket.size else 1))
    np.add.at(hist, (row_bin[has], bucket - lo_bucket), 1)
    minutes = np.bincount(minute_bin, minlength=n_bins)
    requests = np.bincount(row_bin, minlength=n_bins)
    errors = np.bincount(row_bin, weights=bad, minlength=n_bins)
    latency = np.array([_median(h, lo_bucket) for h in hist])

    calm = per_minute[per_row] <= np.median(per_minute)
    calm_hist = np.bincount(bucket[calm[has]] - lo_bucket, minlength=hist.shape[1])
    base_lat = _median(calm_hist, lo_bucket)
    base_err = float(bad[calm].mean()) if calm.any() else 0.0
    with np.errstate(all="ignore"):
        share = np.where(requests > 0, errors / requests, np.nan)
    supported = (minutes >= MIN_MINUTES) & (requests >= MIN_REQUESTS)
    slow = latency > LATENCY_FACTOR * base_lat
    failing = (
        (share > max(ERROR_SHARE, 3 * base_err))
        & (errors >= 3)
        & (count_score(errors, base_err * requests) > 3.0)
    )
    degraded = supported & (slow | failing)
    bins = pd.DataFrame(
        {
            "rpm_from": edges * width,
            "rpm_to": np.r_[edges[1:], fine.max() + 1] * width,
            "minutes": minutes,
            "requests": requests,
            "latency_ms": latency,
            "error_share": share,
            "supported": supported,
            "degraded": degraded,
        }
    )
    knee_bin = _sustained(degraded, supported)
    if knee_bin is None:
        return Knee(
            name, None, observed, base_lat, base_err, None, None,
            f"no sustained rise in latency or errors up to {observed:.0f} req/min", bins,
        )  # fmt: skip
    why = []
    if slow[knee_bin]:
        why.append(f"median target latency {latency[knee_bin]:.0f} ms vs {base_lat:.0f} ms healthy")
    if failing[knee_bin]:
        why.append(f"{share[knee_bin]:.1%} 5xx/backend 429 vs {base_err:.2%} healthy")
    rpm = float(edges[knee_bin] * width)
    return Knee(
        name, rpm, observed, base_lat, base_err, float(latency[knee_bin]), float(share[knee_bin]),
        f"from {rpm:.0f} req/min: " + "; ".join(why), bins,
    )  # fmt: skip


def _pooled_edges(fine: np.ndarray, per_bin_minutes: np.ndarray) -> np.ndarray:
    """Lower edges (fine-bin units) of bins pooled upwards until each has MIN_MINUTES."""
    counts = np.bincount(fine)
    edges, held = [], 0
    for b, n in enumerate(counts.tolist()):
        if held == 0:
            edges.append(b)
        held += n
        if held >= MIN_MINUTES:
            held = 0
    return np.asarray(edges, dtype=np.int64)


def _load(minutes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each active minute's load: the mean over it and its neighbours (quiet ones as 0).

    A backend feels the rate of the last minute or so, not the calendar minute:
    the centred 3-minute mean follows it better than one noisy count.
    """
    first = int(minutes[0])
    dense = np.zeros(int(minutes[-1]) - first + 3)
    dense[minutes - first + 1] = counts
    smooth = (dense[:-2] + dense[1:-1] + dense[2:]) / 3.0
    return np.round(smooth[minutes - first], 2)


def _median(hist: np.ndarray, lo_bucket: int) -> float:
    total = hist.sum()
    if total == 0:
        return float("nan")
    idx = int(np.searchsorted(np.cumsum(hist), total / 2.0))
    return float(math.exp((idx + lo_bucket + 0.5) * _LOG_STEP))


def _sustained(degraded: np.ndarray, supported: np.ndarray) -> int | None:
    """The lowest degraded bin from which most supported bins are degraded."""
    for b in np.flatnonzero(degraded):
        above = supported[b:]
        if degraded[b:][above].mean() >= 0.5:
            return int(b)
    return None
