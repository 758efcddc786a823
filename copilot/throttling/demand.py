"""Demand, not just served traffic: gateway 429s are demand the current limits cut off.

Every request the gateway's own SpikeArrest or Quota refused
(``copilot.analysis.outcomes``: fault code, or an Edge quota 500) was an attempt: it
counts as demand. A client that was refused and tries again within ``RETRY_MS`` (2 s,
docs/throttling.md, 'Demand with retries collapsed') is retrying the same demand, so the
retry is *collapsed* into the first attempt. Only identified clients are collapsed: the
anonymous ``(not set)`` bucket mixes many callers. Backend 429s and 5xx are capacity
signals, kept for the knee, not demand.

An app that the current limits refuse often while it behaves normally (not
abusive) is flagged "limit likely too tight".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from copilot.analysis.outcomes import GATEWAY
from copilot.logs.schema import NOT_SET
from copilot.throttling.collect import Requests

RETRY_MS = 2_000
TOO_TIGHT_SHARE = 0.005  # refused share of a normal app's demand that suggests a tight limit
TOO_TIGHT_MIN = 10


@dataclass
class Demand:
    """Per request: refused by the gateway, or a collapsed retry; and the counts."""

    refused: np.ndarray  # bool: SpikeArrest/Quota refused it
    retry: np.ndarray  # bool: a quick retry of a refused request (not new demand)
    table: pd.DataFrame  # per proxy x app x client id


@dataclass(frozen=True)
class TooTight:
    """A normal app the current limits keep refusing."""

    proxy: str
    app: str
    client_id: str
    policies: tuple[str, ...]
    refused: int
    demand: int

    @property
    def share(self) -> float:
        return self.refused / self.demand if self.demand else 0.0

    def to_dict(self) -> dict:
        return {
            "finding": "limit likely too tight",
            "proxy": self.proxy,
            "app": self.app,
            "client_id": self.client_id,
            "policies": list(self.policies),
            "refused": self.refused,
            "demand": self.demand,
            "share": round(self.share, 4),
        }


def measure(req: Requests) -> Demand:
    """Refusals, collapsed retries and per-consumer demand counts."""
    refused = (req.outcome >> 1) == GATEWAY
    retry = np.zeros(req.size, dtype=bool)
    anonymous = np.array([client == NOT_SET for _, client in req.parties] or [False])
    for proxy, party in req.pairs():
        if anonymous[party]:
            continue
        rows = req.rows_of_pair(proxy, party)
        if rows.size < 2 or not refused[rows].any():
            continue
        t = req.ts[rows]
        quick = refused[rows[:-1]] & (np.diff(t) <= RETRY_MS)
        retry[rows[1:][quick]] = True
    return Demand(refused, retry, _table(req, refused, retry))


def _table(req: Requests, refused: np.ndarray, retry: np.ndarray) -> pd.DataFrame:
    n = max(len(req.parties), 1)
    keys = req.pair_key()
    size = len(req.proxies) * n
    counts = {
        "attempts": np.bincount(keys, minlength=size),
        "refused": np.bincount(keys[refused], minlength=size),
        "retries": np.bincount(keys[retry], minlength=size),
        # refused demand: refusals that were not themselves quick retries
        "refused_demand": np.bincount(keys[refused & ~retry], minlength=size),
    }

    def policies(key: int) -> np.ndarray:
        rows = req.rows_of_pair(key // n, key % n)
        return np.unique(req.policy[rows][refused[rows]])

    return table_of(req.proxies, req.parties, counts, policies, req.policies)


def table_of(
    proxies: list[str],
    parties: list[tuple[str, str]],
    counts: dict[str, np.ndarray],
    refusing: Callable[[int], Iterable[int]],
    policies: list[str],
) -> pd.DataFrame:
    """The demand table from per (proxy x party) key counts (``attempts``, ``refused``,
    ``retries``, ``refused_demand``; int64, key = proxy * parties + party) and, per key,
    the ids of the policies that refused it (``refusing``)."""
    n = max(len(parties), 1)
    out = pd.DataFrame({"key": np.arange(len(proxies) * n), **counts})
    out = out[out["attempts"] > 0].copy()
    out["demand"] = out["attempts"] - out["retries"]
    out["proxy"] = [proxies[k // n] for k in out["key"]]
    out["app"] = [parties[k % n][0] for k in out["key"]]
    out["client_id"] = [parties[k % n][1] for k in out["key"]]
    named = {}
    for k in out["key"].tolist():
        named[k] = tuple(sorted(policies[i] for i in refusing(k) if policies[i]))
    out["policies"] = [named[k] for k in out["key"].tolist()]
    return out.drop(columns="key").reset_index(drop=True)


def too_tight(
    req: Requests,
    demand: Demand,
    healthy: np.ndarray,
    abusive_pairs: set[tuple[str, str, str]],
) -> list[TooTight]:
    """Normal apps refused often, in healthy minutes, by the current limits."""
    n = max(len(req.parties), 1)
    keys = req.pair_key()
    size = len(req.proxies) * n
    fresh = ~demand.retry & healthy
    refused = np.bincount(keys[demand.refused & fresh], minlength=size)
    wanted = np.bincount(keys[fresh], minlength=size)
    out = []
    for row in demand.table.itertuples(index=False):
        if (row.proxy, row.app, row.client_id) in abusive_pairs:
            continue
        key = req.proxies.index(row.proxy) * n + req.parties.index((row.app, row.client_id))
        real, total = int(refused[key]), int(wanted[key])
        if real >= TOO_TIGHT_MIN and real / max(total, 1) >= TOO_TIGHT_SHARE:
            out.append(TooTight(row.proxy, row.app, row.client_id, row.policies, real, total))
    return sorted(out, key=lambda f: -f.share)


def judge_too_tight(
    table: pd.DataFrame,
    req: Requests,
    proxy: int,
    refused: np.ndarray,
    wanted: np.ndarray,
    abusive_pairs: set[tuple[str, str, str]],
) -> list[TooTight]:
    """:func:`too_tight`'s findings on one proxy from its per-party counts: ``refused`` and
    ``wanted`` (fresh requests in healthy minutes: refused ones, all), indexed by party id;
    ``req`` gives the labels. For a proxy's share it is what :func:`too_tight` finds."""
    name = req.proxies[proxy]
    out = []
    for row in table.itertuples(index=False):
        if row.proxy != name or (row.proxy, row.app, row.client_id) in abusive_pairs:
            continue
        party = req.parties.index((row.app, row.client_id))
        real, total = int(refused[party]), int(wanted[party])
        if real >= TOO_TIGHT_MIN and real / max(total, 1) >= TOO_TIGHT_SHARE:
            out.append(TooTight(row.proxy, row.app, row.client_id, row.policies, real, total))
    return sorted(out, key=lambda f: -f.share)
