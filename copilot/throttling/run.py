"""Logs in, throttling advice out: one streaming pass, then the sizing steps.

The pass (:func:`copilot.pipeline.read_pass`) feeds every canonical chunk to
the analysis and to the compact request collector (``collect``), which writes
each proxy's requests to scratch files; nothing else reads the logs. Then the
evidence (``evidence``: abusive clients, demand, excluded windows, knees,
forecasts), and proxy by proxy, busiest first, the suggestions (proxy
SpikeArrest, per-app SpikeArrest and Quota, per-client ceiling) with their
replays, and the policy bundles. One proxy's requests are in memory at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from copilot.analysis import Analysis
from copilot.logs.quarantine import Quarantine
from copilot.logs.reader import ReadOptions
from copilot.pipeline import read_account, read_pass
from copilot.spill import SpillDir
from copilot.throttling import current as cur
from copilot.throttling import shares, suggest_apps, suggest_quotas
from copilot.throttling.bundle import CurrentPolicy, Estate, read_estate
from copilot.throttling.collect import HASHED, Collector, Requests, extra_columns
from copilot.throttling.context import Context
from copilot.throttling.current_limit import CurrentLimit
from copilot.throttling.demand import TooTight, too_tight
from copilot.throttling.evidence import Evidence, Step, gather, legit_minutes, no_step
from copilot.throttling.flow_columns import needed_attrs
from copilot.throttling.forecast import Forecast
from copilot.throttling.options import DEFAULT_HEADROOM, check_headroom
from copilot.throttling.policies_bundle import BundleOptions, bundle_files
from copilot.throttling.replay_estate import estate_warnings, replay_proxy, unknown_refusers
from copilot.throttling.report import ForecastFlag, Report, Suggestion
from copilot.throttling.sliced_context import SlicedContext, sliced_context
from copilot.throttling.spilled import InMemory, Source
from copilot.throttling.suggest import proxy_suggestion

__all__ = ["DEFAULT_HEADROOM", "SuggestRun", "build_report", "check_headroom", "suggest_paths"]


@dataclass
class SuggestRun:
    """The report with the account of what was read."""

    report: Report
    analysis: Analysis
    quarantine: Quarantine
    sources: list[str]

    def to_dict(self) -> dict:
        body = self.report.to_dict()
        body.update(read_account(self.quarantine, self.sources, rejects=False))
        return body


def suggest_paths(
    paths: Iterable[Path | str],
    options: ReadOptions | None = None,
    *,
    headroom: float = DEFAULT_HEADROOM,
    bundles: Iterable[Path | str] = (),
    quarantine_path: Path | None = None,
    bundle_options: BundleOptions | None = None,
    progress: Callable[[int], None] | None = None,
    step: Step = no_step,
) -> SuggestRun:
    """One streaming pass over the logs, then the advice (see module docstring).

    ``progress`` is called after each chunk with the records read so far; ``step``
    before each later stage and proxy with what comes next (it may raise to stop).
    """
    headroom = check_headroom(headroom)
    bundles = list(bundles)
    estate = read_estate(bundles) if bundles else None  # bad bundles fail before reading
    attrs = collected_attrs(estate)
    with SpillDir() as spill:  # the requests wait on disk, by proxy: memory holds one proxy
        collector = Collector(attrs, spill=spill)
        run = read_pass(
            paths,
            options,
            consumers=[collector],
            extra_columns=extra_columns(attrs),
            quarantine_path=quarantine_path,
            progress=progress,
        )
        report = build_report(
            run.analysis,
            collector.finish_source(),
            headroom,
            estate=estate,
            bundle_options=bundle_options,
            step=step,
        )
    return SuggestRun(report, run.analysis, run.quarantine, run.sources)


def collected_attrs(estate: Estate | None = None) -> tuple[str, ...]:
    """The request attributes the collector keeps for ``estate``'s conditions (or none), as
    ``Collector`` reads them: the path hashed unless some condition reads it."""
    # Verb and path tell a retry (the same request again) from a scraper's next page; other
    # request columns are kept only when some bundle condition reads them (memory, time).
    # Telling the same request needs no labels: the path, with millions of distinct values on
    # large logs, is then a hash per request (collect.HASHED); verb's few labels cost less.
    read = needed_attrs(estate.policies if estate else [])
    path = "path" if "path" in read else "path" + HASHED
    return tuple(dict.fromkeys(("verb", path, *read)))


def build_report(
    analysis: Analysis,
    req: Requests | Source,
    headroom: float = DEFAULT_HEADROOM,
    current: list[CurrentPolicy] | None = None,
    estate: Estate | None = None,
    bundle_options: BundleOptions | None = None,
    step: Step = no_step,
) -> Report:
    """The advice from an analysis and the collected requests of the same logs.

    ``req``: the requests in memory, or a source loading one proxy's share at a time
    (``copilot.throttling.spilled``; memory then follows the largest proxy). ``estate``
    (the bundles read) supplies the current limits and the base paths of the
    ``--policies-out`` bundles; ``current`` alone is accepted for limits built by hand.
    ``bundle_options``: how those bundles verify the caller."""
    source = InMemory(req) if isinstance(req, Requests) else req
    if estate is not None:
        current = estate.policies
    ev = gather(analysis, source, headroom, list(current or []), estate, step)
    order = sorted(ev.active, key=lambda p: -source.counts[p])
    suggestions: list[Suggestion] = []
    per: dict[int, _ProxyAdvice] = {}
    for i, p in enumerate(order, 1):
        step(f"sizing limits, proxy {i} of {len(order)} ({source.proxies[p]})")
        if source.counts[p] > shares.SHARE_ROWS:
            with SpillDir() as scratch:  # its streams, on disk while its suggestions read them
                per[p] = _advise(sliced_context(ev, p, scratch), p, suggestions)
        else:
            per[p] = _advise(ev.context(p), p, suggestions)
    done = [per[p] for p in ev.active]  # proxy order, as one pass over the estate lists them
    return Report(
        records=source.size,
        start=analysis.start,
        end=analysis.end,
        headroom=headroom,
        suggestions=suggestions,
        forecasts=list(ev.forecasts.values()),
        flags=_flags(ev, suggestions, {a.name: a.now for a in done}),
        excluded=ev.health.excluded,
        knees=[ev.knees[source.proxies[p]] for p in order],
        abusive=ev.abusive,
        too_tight=sorted([t for a in done for t in a.too_tight], key=lambda f: -f.share),
        demand=ev.demand.drop(columns=["policies"]).assign(
            policies=[", ".join(p) for p in ev.demand["policies"]]
        ),
        current=ev.current,
        bundles=_bundles(suggestions, estate, bundle_options or BundleOptions()),
        traffic={a.name: a.traffic for a in done},
        notes=["no requests: nothing to suggest"] if source.size == 0 else [],
        current_replays=[e for a in done for e in a.replays],
        warnings=(
            estate_warnings(
                estate, {a.name for a in done},
                [w for a in done for w in a.warnings], [w for a in done for w in a.refusers],
            )
            if ev.current
            else []
        ),  # fmt: skip
        unmodelled=[] if estate is None else [u.to_dict() for u in estate.unmodelled],
        retry_storms=ev.storms,
    )


@dataclass
class _ProxyAdvice:
    """What one proxy's share gives the report besides its suggestions."""

    name: str
    now: CurrentLimit | None  # its proxy-wide SpikeArrest in place
    too_tight: list[TooTight]
    traffic: pd.Series
    replays: list[dict]
    warnings: list[str]
    refusers: list[str]


def _advise(ctx: Context, p: int, out: list[Suggestion]) -> _ProxyAdvice:
    """Proxy ``p``'s SpikeArrest, its apps' SpikeArrests and Quotas (into ``out``), and the
    rest of what its share gives the report."""
    top = proxy_suggestion(ctx, p)
    if top is not None:
        out.append(top)
        out += suggest_apps.spike_arrests(ctx, p, top.value["per_minute"])
        out += suggest_quotas.quotas(ctx, p)
    replays, warnings = replay_proxy(ctx, p) if ctx.current else ([], [])
    req, name = ctx.req, ctx.req.proxies[p]
    named = {(a.proxy, a.app, a.client_id) for a in ctx.abusive}
    if isinstance(ctx, SlicedContext):
        tight, minutes = ctx.too_tight(named), ctx.legit_series()
    else:
        healthy = ctx.health.rows(req, np.arange(req.size))
        tight, minutes = too_tight(req, ctx.demand, healthy, named), legit_minutes(ctx, p)
    return _ProxyAdvice(
        name, cur.for_proxy(ctx, name), tight, minutes, replays, warnings,
        unknown_refusers(ctx, p) if ctx.current else [],
    )  # fmt: skip


def _flags(
    ev: Evidence, suggestions: list[Suggestion], now: dict[str, CurrentLimit | None]
) -> list[ForecastFlag]:
    """APIs whose next-week p90 peak exceeds their knee (its lower bound: safety) or current
    limit, and those whose forecast path passes the highest healthy load seen, no knee found."""
    out = []
    for (kind, target), fc in ev.forecasts.items():
        if kind != "proxy":
            continue
        out += knee_flags(ev, target, fc)
        limit = now.get(target)
        if limit is not None and limit.per_minute and fc.p90 > limit.per_minute:
            out.append(ForecastFlag.of(fc, limit.per_minute, "current limit"))
    for s in suggestions:
        fc = ev.forecasts.get(("app", s.app or ""))
        if s.scope != "app" or s.policy != "spike_arrest" or fc is None:
            continue
        if s.current is None or not s.current.per_minute:
            continue
        share = _share(ev.demand, s.proxy, s.app)
        limit = s.current.per_minute
        if fc.p90 * share > limit:
            out.append(
                ForecastFlag(
                    f"{s.proxy} · {s.app}",
                    "app",
                    fc.p50 * share,
                    limit,
                    "current limit",
                    p90_rpm=fc.p90 * share,
                    p99_rpm=fc.p99 * share,
                    probability=fc.probability_above(limit / share) if share else 0.0,
                )  # fmt: skip
            )
    return out


def knee_flags(ctx: Context | Evidence, target: str, fc: Forecast) -> list[ForecastFlag]:
    """A proxy whose forecast passes its knee's lower bound, or, with no knee in the data,
    the highest load seen (no evidence of capacity beyond it)."""
    knee = ctx.knees.get(target)
    if knee is not None and knee.rpm:
        safe = knee.rpm_low if knee.rpm_low is not None else knee.rpm
        return [ForecastFlag.of(fc, safe, "knee (lower bound)")] if fc.p90 > safe else []
    seen = None if knee is None else max(knee.observed_max_rpm, fc.highest_seen)
    if seen is not None and fc.values.max() > seen:
        return [ForecastFlag.of(fc, seen, "capacity unknown")]
    return []


def _share(table: pd.DataFrame, proxy: str, app: str | None) -> float:
    mine = table[table["app"] == app]
    total = float(mine["demand"].sum())
    return float(mine.loc[mine["proxy"] == proxy, "demand"].sum()) / total if total else 0.0


def _base_paths(estate: Estate | None) -> dict[str, str]:
    """Each proxy's first base path, from the bundles read (none for shared flows)."""
    if estate is None:
        return {}
    return {b.name: b.base_paths[0] for b in estate.bundles if b.kind == "proxy" and b.base_paths}


def _bundles(
    suggestions: list[Suggestion], estate: Estate | None, options: BundleOptions
) -> dict[str, dict[str, str]]:
    base_paths = _base_paths(estate)
    rank = {"proxy": 0, "app": 1, "app_default": 2}
    by_proxy: dict[str, list[Suggestion]] = {}
    for s in suggestions:
        by_proxy.setdefault(s.proxy, []).append(s)
    out = {}
    for proxy, items in by_proxy.items():
        items.sort(key=lambda s: (s.policy == "quota", rank[s.scope], s.app or ""))
        out[proxy] = bundle_files(
            proxy,
            [(s.policy_name, s.xml, s.condition) for s in items if s.xml],
            base_paths.get(proxy),
            verify=options.verify,
            key_ref=options.key_ref,
            jwt_check=options.jwt_check,
            target_server=options.target_server,
        )
    return out
