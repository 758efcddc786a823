"""Every random choice of one day, as numbers, before any text is made.

All draws happen here, on the whole day, so the text rendering
(:mod:`copilot.logs.sample_columns`) can work in blocks of any size and the
output does not depend on the block size.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from copilot.logs import sample_scenario as sc
from copilot.logs.sample_apps import ABUSIVE_APP, APPS
from copilot.logs.sample_backend import Timing
from copilot.logs.sample_estate import MESSAGE_PROCESSORS, NOT_SET, OPERATIONS, PROXIES
from copilot.logs.sample_policies import UNRESOLVED
from copilot.logs.sample_pools import Pools
from copilot.logs.sample_traffic import Arrivals
from copilot.timeunits import DAY_MS, HOUR_MS

ID_KINDS = ("", "order", "payment", "customer", "shipment", "sku")
_KIND = {name: i for i, name in enumerate(ID_KINDS)}
_PROXY_INDEX = {p.name: i for i, p in enumerate(PROXIES)}
OP_PROXY = np.array([_PROXY_INDEX[op.proxy] for op in OPERATIONS], dtype=np.int8)
_OP_KIND = np.array([_KIND[op.id_kind] for op in OPERATIONS], dtype=np.int8)
_OP_QUERY = np.array([op.query for op in OPERATIONS])
_SCRAPER = next(i for i, a in enumerate(APPS) if a.name == ABUSIVE_APP)
_ANONYMOUS_APP = next(i for i, a in enumerate(APPS) if a.name == NOT_SET)
_MP_SHARE = (0.4, 0.35, 0.25)
# The orders proxy got a new revision on the third day, mid-afternoon UTC.
REVISION_SWITCH_MS = 2 * DAY_MS + 14 * HOUR_MS


@dataclass(frozen=True)
class Rows:
    """One day of requests as numbers (one array element per request)."""

    ts_ms: np.ndarray
    op: np.ndarray
    proxy: np.ndarray
    app_shown: np.ndarray  # the app Apigee resolved ((not set) after a failed verification)
    revision: np.ndarray
    timing: Timing
    id_kind: np.ndarray  # index into ID_KINDS
    id_value: np.ndarray  # order number, or index into the kind's pool
    query: np.ndarray  # index into Pools.queries (0 = no query string)
    ip: np.ndarray  # index into Pools.ips
    agent: np.ndarray  # index into AGENTS
    mp: np.ndarray  # message processor index
    seq: np.ndarray  # the processor's message sequence number

    def __len__(self) -> int:
        return int(self.ts_ms.size)

    def block(self, start: int, stop: int) -> Rows:
        """Requests ``start`` to ``stop`` (views, no copies)."""
        timing = Timing(
            **{f.name: getattr(self.timing, f.name)[start:stop] for f in fields(Timing)}
        )
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "timing"}
        return Rows(timing=timing, **{k: v[start:stop] for k, v in values.items()})


AGENTS: tuple[str, ...] = tuple(sorted({ua for app in APPS for ua, _ in app.agents}))


def _id_values(
    arr: Arrivals,
    kind: np.ndarray,
    pools: Pools,
    scenario: sc.Scenario,
    rng: np.random.Generator,
    day: int,
) -> np.ndarray:
    n = kind.size
    # Order numbers grow with time (about one new order a minute at scale 1);
    # lookups mostly concern recent orders.
    newest = 4_100_000 + (arr.ts_ms - scenario.start_ms) * scenario.scale / 57_600.0
    orders = np.maximum(1000, newest - rng.exponential(800 * scenario.scale, n)).astype(np.int64)
    skew = rng.random(n) ** 1.7  # popular customers, products and recent payments recur
    sizes = np.array(
        [1, 1, len(pools.payments), len(pools.customers), len(pools.shipments), len(pools.skus)]
    )
    values = np.where(kind == _KIND["order"], orders, (skew * sizes[kind]).astype(np.int64))
    shipment = kind == _KIND["shipment"]
    values[shipment] = rng.integers(0, len(pools.shipments), int(shipment.sum()))
    # The scraper walks the catalogue in order, resuming where yesterday's crawl stopped.
    crawler = (arr.app == _SCRAPER) & (kind == _KIND["sku"])
    values[crawler] = (np.arange(int(crawler.sum())) + day * 4000) % len(pools.skus)
    return values


def _queries(arr: Arrivals, pools: Pools, rng: np.random.Generator) -> np.ndarray:
    kind = _OP_QUERY[arr.op]
    kind = np.where((kind == "search") & (arr.app == _SCRAPER), "scraper_search", kind)
    query = np.zeros(kind.size, dtype=np.int64)
    for name, (offset, size) in pools.query_slots.items():
        rows = kind == name
        query[rows] = offset + rng.integers(0, size, int(rows.sum()))
    return query


def _clients(
    arr: Arrivals, pools: Pools, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Client address and User-Agent per request, each app from its own population."""
    ip = np.zeros(arr.app.size, dtype=np.int64)
    agent = np.zeros(arr.app.size, dtype=np.int64)
    for index, app in enumerate(APPS):
        rows = np.flatnonzero(arr.app == index)
        weights = np.array([w for _, w in app.agents])
        picks = rng.choice(weights.size, size=rows.size, p=weights / weights.sum())
        agent[rows] = np.array([AGENTS.index(ua) for ua, _ in app.agents])[picks]
        offset, size = pools.ip_slots[index]
        # heavy users: a few addresses send much of an app's traffic
        ip[rows] = offset + (rng.random(rows.size) ** 2.2 * size).astype(np.int64)
    return ip, agent


def _message_ids(n: int, rng: np.random.Generator, day: int) -> tuple[np.ndarray, np.ndarray]:
    """Message processor and its running message number per request."""
    mp = rng.choice(len(MESSAGE_PROCESSORS), size=n, p=_MP_SHARE)
    order = np.argsort(mp, kind="stable")
    counts = np.bincount(mp, minlength=len(MESSAGE_PROCESSORS))
    seq = np.empty(n, dtype=np.int64)
    seq[order] = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    return mp, seq + 18_000_000 + day * 5_000_000


def draw_rows(
    arr: Arrivals,
    timing: Timing,
    scenario: sc.Scenario,
    pools: Pools,
    rng: np.random.Generator,
    day: int,
) -> Rows:
    """Resolve every remaining random choice of the day."""
    proxy = OP_PROXY[arr.op]
    unresolved = np.isin(timing.fault, UNRESOLVED)
    revision = np.array([p.revision for p in PROXIES])[proxy]
    revision += (proxy == _PROXY_INDEX["orders"]) & (
        arr.ts_ms - scenario.start_ms >= REVISION_SWITCH_MS
    )
    kind = _OP_KIND[arr.op]
    id_value = _id_values(arr, kind, pools, scenario, rng, day)
    query = _queries(arr, pools, rng)
    ip, agent = _clients(arr, pools, rng)
    mp, seq = _message_ids(arr.op.size, rng, day)
    return Rows(
        ts_ms=arr.ts_ms,
        op=arr.op,
        proxy=proxy,
        app_shown=np.where(unresolved, _ANONYMOUS_APP, arr.app),
        revision=revision,
        timing=timing,
        id_kind=kind,
        id_value=id_value,
        query=query,
        ip=ip,
        agent=agent,
        mp=mp,
        seq=seq,
    )
