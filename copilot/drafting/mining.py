"""The pattern miner: workflow ideas from what clients do at the gateway.

From canonical records (:func:`copilot.logs.reader.read_logs`) it finds

- **polling loops**: a consumer GETs the same resource again and again at a
  steady interval (a workflow could wait server-side and notify instead);
- **retry storms**: a consumer repeats a request within seconds of it failing
  (5xx or 429) (a workflow retries with backoff and a bound);
- **recurring call chains**: a consumer's call to A is followed within
  seconds by a call to B, often (a workflow runs them as one unit).

Each suggestion carries a draft request written by atc from catalog terms
only, the operations and scopes it needs, its evidence, and the shape its
draft must have (:func:`copilot.drafting.trace.shape_of`): polling -> a
bounded loop with a wait and an exit condition, then the notification;
retry storm -> a bounded retry with backoff; call chain -> a sequence. Log fields
(app names, paths, user agents) are hostile input: they appear only in the
evidence, which planners receive as quoted data, never in the request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from copilot.drafting.offline_lexicon import noun, profile, resource_of
from copilot.scopes.catalog import Catalog

COLUMNS = ("ts", "app", "client_id", "verb", "path", "status", "useragent")
POLL_GAP_S, POLL_MIN_RUN = 120, 5
RETRY_GAP_S = 10
CHAIN_GAP_S, CHAIN_MIN_SUPPORT, CHAIN_MIN_CONFIDENCE = 30, 20, 0.2
TOP = 3
_DONE = {"shipment": "delivered", "order": "shipped", "payment": "settled"}
# Each pattern's draft shape, in the terms of copilot.drafting.trace.shape_of.
SHAPES = {
    "polling": ("loop", "sleep", "exit", "sequence"),
    "retry_storm": ("backoff",),
    "call_chain": ("sequence",),
}
RETRY_ATTEMPTS = 5


@dataclass
class Suggestion:
    """A workflow idea mined from logs."""

    kind: str  # polling | retry_storm | call_chain
    title: str
    request: str
    operations: list[str]
    scopes: list[str]
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> list[str]:
        """What the drafted workflow must do over time (see ``SHAPES``)."""
        return list(SHAPES[self.kind])

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "shape": self.shape,
            "title": self.title,
            "request": self.request,
            "operations": self.operations,
            "scopes": self.scopes,
            "evidence": self.evidence,
        }


def _label_operations(df: pd.DataFrame, catalog: Catalog) -> pd.Series:
    from copilot.analysis.endpoints import template_path

    keys = df[["verb", "path"]].astype(str).drop_duplicates()
    labels: dict[tuple[str, str], str | None] = {}
    for verb, path in keys.itertuples(index=False):
        located = catalog.locate(template_path(path))
        op = catalog.find_operation(located[0].name, verb, located[1]) if located else None
        labels[(verb, path)] = op.id if op else None
    return pd.Series(
        [labels[k] for k in zip(df["verb"].astype(str), df["path"].astype(str), strict=True)],
        index=df.index,
    )


def _prepare(df: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    out = df.loc[:, [c for c in COLUMNS if c in df.columns]].copy()
    app = out["app"].astype(str)
    out["consumer"] = app.where(app != "(not set)", "client:" + out["client_id"].astype(str))
    out["operation"] = _label_operations(out, catalog)
    out = out.dropna(subset=["operation"])
    return out.sort_values(["consumer", "ts"], kind="stable").reset_index(drop=True)


def _evidence(rows: pd.DataFrame, **extra: Any) -> dict[str, Any]:
    agents = (
        rows["useragent"].astype(str).value_counts().head(2).index.tolist()
        if "useragent" in rows
        else []
    )
    return {
        **extra,
        "requests": int(len(rows)),
        "consumers": sorted(rows["consumer"].astype(str).unique().tolist())[:5],
        "example_paths": rows["path"].astype(str).drop_duplicates().head(3).tolist(),
        "user_agents": agents,
        "first": rows["ts"].min().isoformat() if len(rows) else None,
        "last": rows["ts"].max().isoformat() if len(rows) else None,
    }


def _phrase(catalog: Catalog, op_id: str) -> str:
    """An operation in the offline planner's words: 'get the shipment', 'search the catalog'."""
    op = catalog.operation(op_id)
    prof = profile(op)
    if prof.verb == "notify":
        return "text the customer" if "sms" in prof.nouns else "email the customer"
    if prof.verb == "search":
        return f"search the {noun(op.proxy)}"
    if prof.verb == "list":
        owner = f" of the {resource_of(op)}" if op.params else ""
        return f"list the {prof.target}s{owner}"
    return f"{prof.verb} the {resource_of(op) if op.params else prof.target}"


def _scopes(catalog: Catalog, ops: Iterable[str]) -> list[str]:
    return sorted({s for o in ops for s in catalog.operation(o).scopes[:1]})


def polling(df: pd.DataFrame, catalog: Catalog) -> list[Suggestion]:
    gets = df[df["verb"].astype(str) == "GET"].sort_values(
        ["consumer", "path", "ts"], kind="stable"
    )
    gap = gets.groupby(["consumer", "path"], observed=True)["ts"].diff().dt.total_seconds()
    close = gap.le(POLL_GAP_S)
    run_id = (~close).cumsum()
    sizes = close.groupby(run_id).transform("sum") + 1
    polled = gets[sizes >= POLL_MIN_RUN].assign(gap=gap)
    out = []
    for op_id, rows in polled.groupby("operation", observed=True):
        interval = float(rows["gap"][rows["gap"].le(POLL_GAP_S)].median())
        out.append((len(rows), op_id, interval, rows))
    suggestions = []
    notify = [o.id for o in catalog.operations if profile(o).verb == "notify"][:1]
    for n, op_id, interval, rows in sorted(out, key=lambda t: (-t[0], t[1]))[:TOP]:
        every = max(10, int(round(interval / 10.0)) * 10)
        resource = resource_of(catalog.operation(op_id))
        done = _DONE.get(resource, "completed")
        request = (
            f"{_phrase(catalog, op_id).capitalize()} every {every} seconds until it is {done}, "
            "then email the customer"
        )
        suggestions.append(Suggestion(
            "polling", f"Replace client polling of {op_id} with a workflow", request,
            [op_id, *notify], _scopes(catalog, [op_id, *notify]),
            _evidence(rows, polled_requests=n, median_interval_s=round(interval, 1)),
        ))  # fmt: skip
    return suggestions


def retry_storms(df: pd.DataFrame, catalog: Catalog) -> list[Suggestion]:
    ordered = df.sort_values(["consumer", "verb", "path", "ts"], kind="stable")
    group = ordered.groupby(["consumer", "verb", "path"], observed=True)
    failed_before = (
        group["status"].shift().fillna(0).astype(int).pipe(lambda s: (s >= 500) | (s == 429))
    )
    gap = group["ts"].diff().dt.total_seconds()
    retries = ordered[failed_before & gap.le(RETRY_GAP_S)]
    suggestions = []
    ranked = (
        retries.groupby("operation", observed=True)
        .size()
        .sort_values(ascending=False, kind="stable")
    )
    for op_id, n in ranked.head(TOP).items():
        if n < 3:
            continue
        rows = retries[retries["operation"] == op_id]
        request = (
            f"{_phrase(catalog, op_id).capitalize()} with up to {RETRY_ATTEMPTS} attempts, "
            "backing off between them"
        )
        suggestions.append(Suggestion(
            "retry_storm", f"Retry {op_id} with backoff instead of client retry storms", request,
            [op_id], _scopes(catalog, [op_id]),
            _evidence(rows, retries_within_s=RETRY_GAP_S, retries=int(n)),
        ))  # fmt: skip
    return suggestions


def call_chains(df: pd.DataFrame, catalog: Catalog) -> list[Suggestion]:
    nxt_op = df.groupby("consumer", observed=True)["operation"].shift(-1)
    gap = df.groupby("consumer", observed=True)["ts"].shift(-1).sub(df["ts"]).dt.total_seconds()
    pairs = df.assign(next_op=nxt_op)[
        gap.le(CHAIN_GAP_S) & nxt_op.notna() & (nxt_op != df["operation"])
    ]
    counts = pairs.groupby(["operation", "next_op"], observed=True).size()
    totals = df.groupby("operation", observed=True).size()
    ranked = []
    for (a, b), n in counts.items():
        confidence = n / totals.get(a, n)
        if n >= CHAIN_MIN_SUPPORT and confidence >= CHAIN_MIN_CONFIDENCE:
            ranked.append((-n, a, b, confidence))
    suggestions = []
    for neg, a, b, confidence in sorted(ranked)[:TOP]:
        rows = pairs[(pairs["operation"] == a) & (pairs["next_op"] == b)]
        request = f"{_phrase(catalog, a).capitalize()}, then {_phrase(catalog, b)}"
        suggestions.append(Suggestion(
            "call_chain", f"Run {a} then {b} as one workflow", request, [a, b], _scopes(catalog, [a, b]),
            _evidence(rows, times=-neg, confidence=round(confidence, 3), within_s=CHAIN_GAP_S),
        ))  # fmt: skip
    return suggestions


def mine(df: pd.DataFrame, catalog: Catalog) -> list[Suggestion]:
    """Every suggestion for a canonical DataFrame (polling, retry storms, call chains)."""
    if df.empty:
        return []
    data = _prepare(df, catalog)
    if data.empty:
        return []
    return polling(data, catalog) + retry_storms(data, catalog) + call_chains(data, catalog)


def mine_paths(paths: Iterable[Path | str], catalog: Catalog) -> list[Suggestion]:
    """Read logs (any supported format) and mine them."""
    from copilot.logs.reader import ReadOptions, read_logs

    df, _ = read_logs([Path(p) for p in paths], ReadOptions(columns=COLUMNS))
    return mine(df, catalog)
