"""Synthetic canonical data built with numpy (for tests and the speed script).

- ``synthetic_chunks``: canonical chunks quickly at any size (the speed
  script): six proxies, 40 apps (Zipf-popular) with their client ids,
  endpoints with numeric and ``pay_`` ids in the path, uniform arrivals,
  log-normal latencies and a status mix with SpikeArrest 429s and Edge quota
  500s. Paths are assembled with pyarrow, never row by row.
- ``small_frame``: a few thousand rows with every case the analysis tells apart
  (the exactness and chunking tests).
- ``seasonal_frame``: a week or more of diurnal/weekly traffic with optional
  injected incidents (the anomaly tests).
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


def small_frame(seed: int = 1, n: int = 6_000, one_to_one: bool = False) -> pd.DataFrame:
    """A small canonical frame with every case the analysis distinguishes.

    Three proxies, apps with one or two client ids (or strictly one each),
    keyless traffic, bursts packing many requests into a few seconds, ids and
    UUIDs in paths, a query string, gateway throttling (SpikeArrest 429, Edge
    quota 500), backend 429s, 4xx/5xx, and missing latencies.
    """
    from copilot.logs import schema

    rng = np.random.default_rng(seed)
    start = int(START.value // 1_000_000) + 9 * 3_600_000
    spread = rng.integers(0, 2 * 3_600_000, n - n // 5)
    burst = 1_800_000 + rng.integers(0, 3_000, n // 5)  # 1/5 of the rows in 3 seconds
    ts = start + np.concatenate([spread, burst])
    apps = np.array(["shop-web", "shop-ios", "partner-x", "batch", schema.NOT_SET])
    app_idx = rng.choice(len(apps), n, p=[0.4, 0.25, 0.15, 0.1, 0.1])
    if one_to_one:
        client = np.array(["k-web", "k-ios", "k-px", "k-batch", schema.NOT_SET])[app_idx]
    else:  # shop-web rotates between two keys; partner-x and batch share one
        two = rng.random(n) < 0.5
        keys = np.array(["k-web", "k-ios", "k-shared", "k-shared", schema.NOT_SET])
        client = np.where((app_idx == 0) & two, "k-web-2", keys[app_idx])
    proxy = rng.choice(["orders", "payments", "users"], n, p=[0.5, 0.3, 0.2])
    kind = rng.integers(0, 4, n)
    ids = rng.integers(1, 99_999, n).astype(str)
    paths = np.where(
        kind == 0,
        np.char.add("/v1/items/", ids),
        np.where(
            kind == 1,
            "/v1/users/3f2c1a2b-1234-4abc-9def-0123456789ab/keys",
            np.where(kind == 2, np.char.add("/v1/search?q=", ids), "/v1/status"),
        ),
    )
    status = rng.choice([200, 201, 404, 500, 503, 429], n, p=[0.7, 0.05, 0.08, 0.05, 0.04, 0.08])
    fault = np.zeros(n, dtype=int)
    fault[(status == 429) & (rng.random(n) < 0.5)] = 1  # SpikeArrest
    fault[(status == 500) & (rng.random(n) < 0.3)] = 2  # Edge QuotaViolation as 500
    fault[(status == 429) & (fault == 0) & (rng.random(n) < 0.3)] = 3  # policy 429, no code
    target = np.where(fault == 0, status, -1).astype(float)
    target[target < 0] = np.nan
    total = rng.lognormal(3.2, 1.0, n)
    total[rng.random(n) < 0.01] = np.nan
    target_ms = np.where(np.isnan(target), np.nan, total * 0.7)
    frame = pd.DataFrame(
        {
            "ts": pd.to_datetime(ts, unit="ms", utc=True),
            "proxy": proxy,
            "app": apps[app_idx],
            "client_id": client,
            "verb": rng.choice(["GET", "POST"], n),
            "path": paths,
            "status": status,
            "target_status": pd.array(target, dtype="Int16"),
            "total_ms": total,
            "target_ms": target_ms,
            "fault_code": np.array(["", SPIKE_ARREST_FAULT, QUOTA_FAULT, ""])[fault],
            "fault_policy": np.array(["", "SA-Protect", "Quota-PerApp", "RF-429"])[fault],
        }
    )
    return schema.conform(frame)


# (proxy, app, client id, peak requests per minute)
SEASONAL_STREAMS = (
    ("orders", "shop-web", "k-web", 40.0),
    ("orders", "shop-ios", "k-ios", 20.0),
    ("orders", "partner-x", "k-px", 8.0),
    ("payments", "shop-web", "k-web", 15.0),
    ("payments", "billing", "k-bill", 8.0),
)


def diurnal(hours: np.ndarray) -> np.ndarray:
    """A smooth day: quiet at night (0.15), busiest mid-afternoon (1.0)."""
    return 0.15 + 0.85 * np.exp(-(((hours - 14.0) / 4.5) ** 2))


def seasonal_frame(
    days: int = 7,
    seed: int = 0,
    burst: tuple | None = None,
    errors: tuple | None = None,
    slow: tuple | None = None,
) -> pd.DataFrame:
    """Seasonal traffic of ``SEASONAL_STREAMS``, one canonical frame, with optional incidents.

    Rates follow ``diurnal`` x 0.5 on weekends, with 10 % per-minute jitter
    over Poisson noise; 0.3 % of requests fail with 5xx; latency is log-normal
    around 40 ms. Incidents (times as offsets from ``START``):

    - ``burst=(app, start, minutes, factor)``: the app's rate on orders x factor;
    - ``errors=(app, start, minutes, share)``: that share of the app's orders requests get 503;
    - ``slow=(proxy, start, minutes, factor)``: latency on the proxy ramps up to x factor.
    """
    from copilot.logs import schema

    rng = np.random.default_rng(seed)
    minutes = np.arange(days * 1440)
    when = START + pd.to_timedelta(minutes, unit="min")
    weekly = np.where(when.day_of_week >= 5, 0.5, 1.0)
    shape = diurnal(np.asarray(when.hour + when.minute / 60.0)) * weekly
    t0 = int(START.value // 1_000_000)
    parts = []
    for proxy, app, client, peak in SEASONAL_STREAMS:
        rate = peak * shape * rng.lognormal(0.0, 0.1, minutes.size)
        if burst and app == burst[0] and proxy == "orders":
            rate[_window(burst)] *= burst[3]
        counts = rng.poisson(rate)
        minute = np.repeat(minutes, counts)
        n = minute.size
        status = np.where(rng.random(n) < 0.003, 500, np.where(rng.random(n) < 0.02, 404, 200))
        if errors and app == errors[0] and proxy == "orders":
            hit = np.isin(minute, minutes[_window(errors)]) & (rng.random(n) < errors[3])
            status = np.where(hit, 503, status)
        total = rng.lognormal(np.log(40.0), 0.35, n)
        if slow and proxy == slow[0]:
            window = minutes[_window(slow)]
            ramp = np.interp(minute, [window[0], window[-1]], [1.0, slow[3]])
            total = np.where(np.isin(minute, window), total * ramp, total)
        parts.append(
            pd.DataFrame(
                {
                    "ts_ms": t0 + minute * 60_000 + rng.integers(0, 60_000, n),
                    "proxy": proxy,
                    "app": app,
                    "client_id": client,
                    "status": status,
                    "total_ms": total,
                }
            )
        )
    rows = pd.concat(parts, ignore_index=True).sort_values("ts_ms", kind="stable")
    frame = rows.assign(
        ts=pd.to_datetime(rows.pop("ts_ms"), unit="ms", utc=True),
        verb="GET",
        path="/v1/" + rows["proxy"] + "/42",
        target_status=rows["status"],
        target_ms=rows["total_ms"] * 0.8,
    )
    return schema.conform(frame.reset_index(drop=True))


def _window(incident: tuple) -> slice:
    start = int(incident[1] / pd.Timedelta(minutes=1))
    return slice(start, start + incident[2])
