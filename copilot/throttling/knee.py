"""The capacity knee of a proxy's backend: the throughput above which it degrades.

docs/throttling.md, 'Capacity knee': the lowest throughput bin where the
median latency exceeds ~1.5x its healthy value or the 5xx share exceeds 2 %
(a backend failing 1 % at its knee shows 1 % a bin early in minute counts:
a minute's bursts already cross it, so 2 % marks the bin the knee is in).
Throughput is, per request, the requests the gateway let through in the
minute up to it (its own SpikeArrest/Quota refusals never reach the backend):
each request is binned by the load it met, not by its calendar minute's count
(see ``copilot.throttling.knee_cells``); a bin's minutes are its requests' 1/load summed. Latency is the target's
time, pooled over every request of the bin's minutes (a 2 % log histogram, not
a median of noisy per-minute medians); errors are 5xx and backend 429s (both
capacity signals). The healthy reference is the busier half's lower part: the
minutes at or below the median throughput. A bin counts only with enough
minutes and requests behind it, and a knee must be *sustained*: most supported
bins above it are degraded too, so one unlucky bin is not a knee. When no bin
qualifies the answer is "none found" up to the highest throughput observed.

The knee is not the knee bin's lower edge: between the last healthy bin and
the knee bin (at their mean loads) the severity — median latency over 1.5x
healthy, or, for an errors-only knee, the error share over its line — is
interpolated to where it crosses 1. Its interval is a bootstrap over minutes
(``BOOTSTRAP`` Poisson(1)-weighted resamples, fixed seed, each with its bin
edges shifted by a random fraction of a bin so the bins' coarseness is in the
interval too): the 5th-95th
percentile of the resampled knees, and the share of resamples finding one.
Flags ("needs throttling next week") compare with the lower bound, for
safety; sizing uses the point, for fairness to legitimate traffic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from copilot.analysis.scoring import count_score
from copilot.throttling.collect import Requests
from copilot.throttling.knee_cells import LOG_STEP, KneeCells, Pieces, knee_cells, share_pieces

LATENCY_FACTOR = 1.5
ERROR_SHARE = 0.02
MIN_MINUTES = 5
MIN_REQUESTS = 30
BOOTSTRAP = 40  # resamples of minutes (Poisson weights) for the knee's interval


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
    rpm_low: float | None = None  # bootstrap 5th percentile: what safety uses
    rpm_high: float | None = None  # bootstrap 95th percentile
    found_share: float | None = None  # share of bootstrap resamples that found a knee

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
            "rpm_low": None if self.rpm_low is None else round(self.rpm_low, 2),
            "rpm_high": None if self.rpm_high is None else round(self.rpm_high, 2),
            "found_share": None if self.found_share is None else round(self.found_share, 3),
            "interval": "bootstrap over minutes, 5th-95th percentile",
            "use": "the lower bound where safety needs it (flags), the point for sizing",
            "reason": self.reason,
        }


def _round(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 1)


def find_knee(req: Requests, proxy: int, resamples: int = BOOTSTRAP) -> Knee:
    """The knee of one proxy, with a bootstrap interval (see module docstring)."""
    return find_knee_slices(share_pieces(req, proxy), req.proxies[proxy], resamples)


def find_knee_slices(pieces: Pieces, name: str, resamples: int = BOOTSTRAP) -> Knee:
    """The knee of the proxy ``name`` whose share ``pieces()`` reads afresh in consecutive
    time-ordered pieces (read twice; never held whole; not lean: target times are read):
    :func:`find_knee`'s answer, whatever the cuts."""
    cells = knee_cells(pieces, resamples)
    if cells.size == 0:  # refused at the gateway or no traffic: nothing reached the backend
        return Knee(name, None, 0.0, None, 0.0, None, None, "no traffic reached the backend",
                    pd.DataFrame())  # fmt: skip
    observed = float(cells.load.max())
    prep = _Prep.of(max(1, math.ceil(observed / 40)), cells, float(np.median(cells.per_minute)))
    point = _judge(prep, prep.count, _Bins.of(prep, 0.0))
    low = high = share = None
    if resamples:
        found = [
            _judge(prep, cells.resampled[:, j].astype(float), _Bins.of(prep, offset)).rpm
            for j, offset in enumerate(cells.offsets)
        ]
        hits = np.array([f for f in found if f is not None])
        share = hits.size / resamples
        if point.rpm is not None and hits.size:
            low, high = (float(v) for v in np.quantile(hits, [0.05, 0.95]))
            low, high = min(low, point.rpm), max(high, point.rpm)
    if point.rpm is None:
        return Knee(
            name, None, observed, point.base_lat, point.base_err, None, None,
            f"no sustained rise in latency or errors up to {observed:.0f} req/min", point.bins,
            found_share=share,
        )  # fmt: skip
    return Knee(
        name, point.rpm, observed, point.base_lat, point.base_err, point.latency, point.share,
        f"from {point.rpm:.0f} req/min: " + point.why, point.bins, low, high, share,
    )  # fmt: skip


@dataclass(frozen=True)
class _Bins:
    """Throughput bins: fine bins of ``width`` req/min shifted by ``offset`` widths, pooled."""

    n_bins: int
    edges: np.ndarray  # lower edges in fine-bin units
    top: int
    offset: float
    cell_bin: np.ndarray

    @classmethod
    def of(cls, p: _Prep, offset: float) -> _Bins:
        # a resample's random offset puts its bin edges elsewhere: the interval then
        # carries the bins' coarseness as well as the minutes' sampling
        fine = np.floor(p.load / p.width + offset).astype(np.int64)
        edges = _pooled_edges(np.bincount(fine, weights=p.count / p.load))  # sparse bins pooled
        cell_bin = np.searchsorted(edges, fine, side="right") - 1
        return cls(edges.size, edges, int(fine.max()) + 1, offset, cell_bin)

    def rpm(self, edge: np.ndarray | int, width: int) -> np.ndarray:
        return (np.asarray(edge) - self.offset) * width


@dataclass(frozen=True)
class _Prep:
    """The requests as cells alike in all the knee reads: the load they met, their latency
    bucket, whether they failed (``knee_cells``, which also sums, per cell, its requests'
    minute weights under every resample); each verdict sums cells, not requests."""

    width: int
    load: np.ndarray  # per cell: requests/min over the trailing minute
    bad: np.ndarray
    has: np.ndarray  # the cell's requests have a latency
    bucket: np.ndarray  # per cell with latency, from 0
    lo_bucket: int
    calm: np.ndarray  # cell at or below the median minute's load
    count: np.ndarray  # requests per cell

    @classmethod
    def of(cls, width: int, cells: KneeCells, median_load: float) -> _Prep:
        """The cells as the verdicts read them (``median_load``: the median minute's)."""
        has = cells.bucket >= 0
        load = cells.load.astype(float)
        return cls(width, load, cells.bad, has, cells.bucket[has], cells.lo_bucket,
                   load <= median_load, cells.count.astype(float))  # fmt: skip


@dataclass(frozen=True)
class _Verdict:
    rpm: float | None
    base_lat: float
    base_err: float
    latency: float | None
    share: float | None
    why: str
    bins: pd.DataFrame


def _judge(p: _Prep, w: np.ndarray, b: _Bins) -> _Verdict:
    """The knee under per-cell weights (the requests counted: the data; their minutes'
    Poisson(1) weights summed: a bootstrap resample)."""
    cell_bin = b.cell_bin
    n_buckets = int(p.bucket.max()) + 1 if p.bucket.size else 1
    hist = np.bincount(
        cell_bin[p.has] * n_buckets + p.bucket, weights=w[p.has], minlength=b.n_bins * n_buckets
    ).reshape(b.n_bins, n_buckets)
    # a request at load L stands for 1/L of a minute spent at that load
    minutes = np.bincount(cell_bin, weights=w / p.load, minlength=b.n_bins)
    requests = np.bincount(cell_bin, weights=w, minlength=b.n_bins)
    errors = np.bincount(cell_bin, weights=w * p.bad, minlength=b.n_bins)
    load = np.bincount(cell_bin, weights=w * p.load, minlength=b.n_bins)
    latency = np.array([_median(h, p.lo_bucket) for h in hist])
    calm_w = w * p.calm
    base_lat = _median(
        np.bincount(p.bucket, weights=calm_w[p.has], minlength=n_buckets), p.lo_bucket
    )
    base_err = float((calm_w * p.bad).sum() / calm_w.sum()) if calm_w.sum() else 0.0
    with np.errstate(all="ignore"):
        share = np.where(requests > 0, errors / requests, np.nan)
        centre = np.where(requests > 0, load / requests, np.nan)
    supported = (minutes >= MIN_MINUTES) & (requests >= MIN_REQUESTS)
    slow = latency > LATENCY_FACTOR * base_lat
    err_line = max(ERROR_SHARE, 3 * base_err)
    failing = (share > err_line) & (errors >= 3) & (count_score(errors, base_err * requests) > 3.0)
    degraded = supported & (slow | failing)
    bins = pd.DataFrame(
        {
            "rpm_from": b.rpm(b.edges, p.width),
            "rpm_to": b.rpm(np.r_[b.edges[1:], b.top], p.width),
            "minutes": minutes,
            "requests": requests,
            "latency_ms": latency,
            "error_share": share,
            "supported": supported,
            "degraded": degraded,
        }
    )
    k = _sustained(degraded, supported)
    if k is None:
        return _Verdict(None, base_lat, base_err, None, None, "", bins)
    # severity >= 1 is degraded; the knee is where it crosses 1 between the last
    # healthy supported bin and the knee bin (their mean loads), not the bin's lower edge
    with np.errstate(all="ignore"):  # latency first: a median shrugs off a minute's bursts
        severity = latency / (LATENCY_FACTOR * base_lat) if slow[k] else share / err_line
    below = [b for b in range(k) if supported[b] and not degraded[b]]
    rpm = float(b.rpm(b.edges[k], p.width))
    if below and np.isfinite(severity[[below[-1], k]]).all() and severity[k] > severity[below[-1]]:
        j = below[-1]
        t = (1.0 - severity[j]) / (severity[k] - severity[j])
        rpm = float(centre[j] + np.clip(t, 0.0, 1.0) * (centre[k] - centre[j]))
    why = []
    if slow[k]:
        why.append(f"median target latency {latency[k]:.0f} ms vs {base_lat:.0f} ms healthy")
    if failing[k]:
        why.append(f"{share[k]:.1%} 5xx/backend 429 vs {base_err:.2%} healthy")
    return _Verdict(
        rpm, base_lat, base_err, float(latency[k]), float(share[k]), "; ".join(why), bins
    )


def _pooled_edges(per_bin_minutes: np.ndarray) -> np.ndarray:
    """Lower edges (fine-bin units) of bins pooled upwards until each has MIN_MINUTES."""
    edges, held = [], 0.0
    for b, n in enumerate(per_bin_minutes.tolist()):
        if held == 0:
            edges.append(b)
        held += n
        if held >= MIN_MINUTES:
            held = 0.0
    return np.asarray(edges, dtype=np.int64)


def _median(hist: np.ndarray, lo_bucket: int) -> float:
    total = hist.sum()
    if total == 0:
        return float("nan")
    idx = int(np.searchsorted(np.cumsum(hist), total / 2.0))
    return float(math.exp((idx + lo_bucket + 0.5) * LOG_STEP))


def _sustained(degraded: np.ndarray, supported: np.ndarray) -> int | None:
    """The lowest degraded bin from which most supported bins are degraded."""
    for b in np.flatnonzero(degraded):
        above = supported[b:]
        if degraded[b:][above].mean() >= 0.5:
            return int(b)
    return None
