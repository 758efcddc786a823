"""Synthetic canonical chunks built with numpy (for tests and the speed script).

``synthetic_chunks`` yields canonical frames quickly at any size: proxies,
apps with their client ids, endpoints with ids in the path, a diurnal shape,
log-normal latencies and a status mix with SpikeArrest 429s, Edge quota 500s
and backend 429s. Paths are assembled with pyarrow, never row by row.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from copilot.logs.schema import QUOTA_FAULT, SPIKE_ARREST_FAULT

PROXIES = ("orders", "payments", "catalog", "users", "search", "shipping")
ROUTES = (
    ("GET", "/v1/orders/", True),
    ("POST", "/v1/orders", False),
    ("GET", "/v1/payments/pay_", True),
    ("GET", "/v1/catalog/items/", True),
    ("GET", "/v1/catalog/search", False),
    ("GET", "/v1/users/", True),
    ("PUT", "/v1/users/", True),
    ("GET", "/v1/shipping/quotes", False),
)
VERBS = ("GET", "POST", "PUT")
_VERB_OF_ROUTE = np.array([VERBS.index(r[0]) for r in ROUTES])
START = pd.Timestamp("2024-03-04", tz="UTC")  # a Monday


def _categorical(codes: np.ndarray, categories: list[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=categories)


def _paths(route: np.ndarray, ids: np.ndarray) -> pd.Series:
    prefix = pa.array([ROUTES[i][1] for i in range(len(ROUTES))]).take(pa.array(route))
    with_id = np.array([ROUTES[i][2] for i in range(len(ROUTES))])[route]
    suffix = pc.if_else(pa.array(with_id), pc.cast(pa.array(ids), pa.string()), "")
    joined = pc.binary_join_element_wise(prefix, suffix, "")
    return pd.Series(pd.arrays.ArrowStringArray(pc.cast(joined, pa.large_string())))


def synthetic_chunk(rng: np.random.Generator, ts_ms: np.ndarray, n_apps: int = 40) -> pd.DataFrame:
    """A canonical chunk with the given timestamps (epoch ms)."""
    n = ts_ms.size
    route = rng.integers(0, len(ROUTES), n)
    proxy = route % len(PROXIES)
    app = np.minimum(rng.zipf(1.6, n) - 1, n_apps - 1)
    status = rng.choice(
        [200, 201, 404, 400, 500, 503, 429], n, p=[0.86, 0.04, 0.03, 0.02, 0.02, 0.01, 0.02]
    )
    throttled = (status == 429) & (rng.random(n) < 0.6)
    edge_quota = (status == 500) & (rng.random(n) < 0.1)
    fault = np.where(throttled, 1, np.where(edge_quota, 2, 0))
    reached = fault == 0
    target = np.where(reached, status, 0)
    total = rng.lognormal(3.5, 0.8, n).astype(np.float32)
    frame = pd.DataFrame(
        {
            "ts": pd.to_datetime(ts_ms, unit="ms", utc=True).astype("datetime64[ms, UTC]"),
            "proxy": _categorical(proxy, list(PROXIES)),
            "app": _categorical(app, [f"app-{i:02d}" for i in range(n_apps)]),
            "client_id": _categorical(app, [f"key-{i:02d}" for i in range(n_apps)]),
            "verb": _categorical(_VERB_OF_ROUTE[route], list(VERBS)),
            "path": _paths(route, rng.integers(1, 1_000_000, n)),
            "status": status.astype(np.int16),
            "target_status": pd.array(np.where(reached, target, 0), dtype="Int16"),
            "total_ms": total,
            "target_ms": np.where(reached, total * 0.8, np.nan).astype(np.float32),
            "fault_code": _categorical(fault, ["", SPIKE_ARREST_FAULT, QUOTA_FAULT]),
            "fault_policy": _categorical(fault, ["", "SA-Protect", "Q-PerApp"]),
        }
    )
    frame.loc[~reached, "target_status"] = pd.NA
    return frame


def synthetic_chunks(
    rows: int, chunk_rows: int = 500_000, days: int = 7, seed: int = 0
) -> Iterator[pd.DataFrame]:
    """``rows`` canonical rows over ``days`` days, time-ordered, in chunks."""
    from copilot.logs import schema

    rng = np.random.default_rng(seed)
    span_ms = days * 86_400_000
    start = int(START.value // 1_000_000)
    done = 0
    while done < rows:
        n = min(chunk_rows, rows - done)
        lo = start + span_ms * done // rows
        hi = start + span_ms * (done + n) // rows
        ts = np.sort(rng.integers(lo, max(hi, lo + 1), n))
        yield schema.conform(synthetic_chunk(rng, ts))
        done += n
