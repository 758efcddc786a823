"""Logs in, throttling advice out: one streaming pass, then the sizing steps.

The pass feeds every canonical chunk to the analysis (``copilot.analysis``)
and to the compact request collector (``collect``); nothing else reads the
files. Then: abusive clients, demand, excluded windows, knees, forecasts, the
suggestions (proxy SpikeArrest, per-app SpikeArrest and Quota, per-client
ceiling) with their replays, and the policy bundles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from copilot.analysis import Analysis, Analyzer
from copilot.errors import UsageError
from copilot.logs.quarantine import Quarantine
from copilot.logs.reader import ReadOptions, iter_chunks
from copilot.logs.schema import NOT_SET
from copilot.pipeline import ANALYSIS_COLUMNS
from copilot.throttling import current as cur
from copilot.throttling import suggest_apps, suggest_quotas
from copilot.throttling.abuse import abusive_parties, find_abusive
from copilot.throttling.bundle import CurrentPolicy, Estate, read_estate
from copilot.throttling.collect import EXTRA_COLUMNS, Collector, Requests
from copilot.throttling.context import Context
from copilot.throttling.demand import measure, too_tight
from copilot.throttling.flow_columns import needed_attrs
from copilot.throttling.forecast import forecast, hourly_peaks
from copilot.throttling.health import MINUTE_MS, assess
from copilot.throttling.knee import find_knee
from copilot.throttling.policies_bundle import BundleOptions, bundle_files
from copilot.throttling.replay_estate import replay_estate
from copilot.throttling.report import ForecastFlag, Report, Suggestion
from copilot.throttling.retries import find_retry_storms, storm_keys
from copilot.throttling.suggest import proxy_suggestion

DEFAULT_HEADROOM = 1.3
TOP_APPS = 5


@dataclass
class SuggestRun:
    """The report with the account of what was read."""

    report: Report
    analysis: Analysis
    quarantine: Quarantine
    sources: list[str]

    def to_dict(self) -> dict:
        body = self.report.to_dict()
        body["records"] = self.quarantine.records
        body["rejected"] = self.quarantine.rejected
        body["lines_read"] = self.quarantine.lines_read
        body["sources"] = self.sources
        return body


def check_headroom(headroom: float) -> float:
    if not 1.0 <= float(headroom) <= 5.0:
        raise UsageError(f"--headroom must be between 1.0 and 5.0, got {headroom}")
    return float(headroom)


def suggest_paths(
    paths: Iterable[Path | str],
    options: ReadOptions | None = None,
    *,
    headroom: float = DEFAULT_HEADROOM,
    bundles: Iterable[Path | str] = (),
    quarantine_path: Path | None = None,
    bundle_options: BundleOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> SuggestRun:
    """One streaming pass over the logs, then the advice (see module docstring).

    ``progress`` is called after each chunk with the records read so far.
    """
    headroom = check_headroom(headroom)
    bundles = list(bundles)
    estate = read_estate(bundles) if bundles else None  # bad bundles fail before reading
    # Verb and path tell a retry (the same request again) from a scraper's next page; other
    # request columns are kept only when some bundle condition reads them (memory, time).
    attrs = tuple(dict.fromkeys(("verb", "path", *needed_attrs(estate.policies if estate else []))))
    paths = [Path(p) for p in paths]
    options = options or ReadOptions()
    if options.columns is None:
        extra = tuple(c for c in EXTRA_COLUMNS if c in attrs)
        options = replace(options, columns=tuple(dict.fromkeys(ANALYSIS_COLUMNS + extra)))
    quarantine = Quarantine(path=quarantine_path)
    analyzer, collector = Analyzer(), Collector(attrs)
    try:
        for chunk in iter_chunks(paths, quarantine, options):
            analyzer.add(chunk)
            collector.add(chunk)
            if progress is not None:
                progress(quarantine.records)
    finally:
        quarantine.close()
    analysis = analyzer.finish()
    report = build_report(
        analysis, collector.finish(), headroom, estate=estate, bundle_options=bundle_options
    )
    return SuggestRun(report, analysis, quarantine, [str(p) for p in paths])


def build_report(
    analysis: Analysis,
    req: Requests,
    headroom: float = DEFAULT_HEADROOM,
    current: list[CurrentPolicy] | None = None,
    estate: Estate | None = None,
    bundle_options: BundleOptions | None = None,
) -> Report:
    """The advice from an analysis and the collected requests of the same logs.

    ``estate`` (the bundles read) supplies the current limits and the base paths of
    the ``--policies-out`` bundles; ``current`` alone is accepted for limits built by
    hand. ``bundle_options``: how those bundles verify the caller."""
    if estate is not None:
        current = estate.policies
    demand = measure(req)
    waits = {b.name: b.retry_after_s for b in estate.bundles if b.retry_after_s} if estate else {}
    storms = find_retry_storms(req, demand, retry_after_s=waits)  # retriers are not abusive for it
    abusive = find_abusive(analysis, storm_keys(storms))
    bad_party = abusive_parties(abusive, req.parties)
    health = assess(analysis, req, abusive)
    active = [p for p in range(len(req.proxies)) if req.rows_of_proxy(p).size]
    knees = {req.proxies[p]: find_knee(req, p) for p in active}
    ctx = Context(
        req, demand, health, abusive, bad_party, knees, {}, current or [], {}, headroom, estate
    )
    ctx.policy_kinds = cur.logs_kinds(ctx)
    traffic = _forecasts(ctx, active)
    suggestions: list[Suggestion] = []
    order = sorted(active, key=lambda p: -req.rows_of_proxy(p).size)
    for p in order:
        top = proxy_suggestion(ctx, p)
        if top is None:
            continue
        suggestions.append(top)
        suggestions += suggest_apps.spike_arrests(ctx, p, top.value["per_minute"])
        suggestions += suggest_quotas.quotas(ctx, p)
    replays, warnings = replay_estate(ctx) if ctx.current else ([], [])
    healthy_rows = health.rows(req, np.arange(req.size))
    named = {(a.proxy, a.app, a.client_id) for a in abusive}
    notes = []
    if req.size == 0:
        notes.append("no requests: nothing to suggest")
    return Report(
        records=req.size,
        start=analysis.start,
        end=analysis.end,
        headroom=headroom,
        suggestions=suggestions,
        forecasts=list(ctx.forecasts.values()),
        flags=_flags(ctx, suggestions),
        excluded=health.excluded,
        knees=[knees[req.proxies[p]] for p in order],
        abusive=abusive,
        too_tight=too_tight(req, demand, healthy_rows, named),
        demand=demand.table.drop(columns=["policies"]).assign(
            policies=[", ".join(p) for p in demand.table["policies"]]
        ),
        current=list(current or []),
        bundles=_bundles(suggestions, estate, bundle_options or BundleOptions()),
        traffic=traffic,
        notes=notes,
        current_replays=replays,
        warnings=warnings,
        unmodelled=[] if estate is None else [u.to_dict() for u in estate.unmodelled],
        retry_storms=storms,
    )


def _minute_counts(ctx: Context, rows: np.ndarray, width: int) -> np.ndarray:
    col = ctx.req.ts[rows] // MINUTE_MS - ctx.health.first_minute
    return np.bincount(col, minlength=width)[:width]


def _forecasts(ctx: Context, active: list[int]) -> dict[str, pd.Series]:
    """Forecast per proxy and per top app; returns each proxy's legit demand per minute."""
    req, health = ctx.req, ctx.health
    width = health.healthy.shape[1]
    first = health.first_minute
    index = pd.to_datetime((first + np.arange(width)) * MINUTE_MS, unit="ms", utc=True)
    traffic = {}
    for p in active:
        stream = ctx.proxy_stream(p)
        counts = _minute_counts(ctx, stream.rows[stream.legit], width)
        name = req.proxies[p]
        traffic[name] = pd.Series(counts, index=index)
        series = hourly_peaks(counts, health.healthy[p], first)
        ctx.forecasts[("proxy", name)] = forecast(series, name, "proxy")
    legit = np.flatnonzero(~ctx.demand.retry & ~ctx.bad_party[req.party])
    names = sorted({app for app, _ in req.parties})
    app_of_party = np.array([names.index(app) for app, _ in req.parties] or [0])
    app_ids = app_of_party[req.party[legit]]
    volume = np.bincount(app_ids, minlength=len(names))
    ranked = [names[i] for i in np.argsort(-volume, kind="stable") if names[i] != NOT_SET]
    for app in ranked[:TOP_APPS]:
        rows = legit[app_ids == names.index(app)]
        counts = _minute_counts(ctx, rows, width)
        used = np.unique(req.proxy[rows])
        healthy = health.healthy[used].all(axis=0)
        series = hourly_peaks(counts, healthy, first)
        ctx.forecasts[("app", app)] = forecast(series, app, "app")
    return traffic


def _flags(ctx: Context, suggestions: list[Suggestion]) -> list[ForecastFlag]:
    """APIs whose next-week p90 peak exceeds their knee (its lower bound: safety) or current
    limit, and those whose forecast path passes the highest healthy load seen, no knee found."""
    out = []
    for (kind, target), fc in ctx.forecasts.items():
        if kind != "proxy":
            continue
        knee = ctx.knees.get(target)
        if knee is not None and knee.rpm:
            safe = knee.rpm_low if knee.rpm_low is not None else knee.rpm
            if fc.p90 > safe:
                out.append(ForecastFlag.of(fc, safe, "knee (lower bound)"))
        elif knee is not None and fc.values.max() > max(knee.observed_max_rpm, fc.highest_seen):
            # no knee in the data is no evidence of capacity beyond what was seen
            seen = max(knee.observed_max_rpm, fc.highest_seen)
            out.append(ForecastFlag.of(fc, seen, "capacity unknown"))
        now = cur.for_proxy(ctx, target)
        if now and now.get("per_minute") and fc.p90 > float(now["per_minute"]):
            out.append(ForecastFlag.of(fc, float(now["per_minute"]), "current limit"))
    for s in suggestions:
        fc = ctx.forecasts.get(("app", s.app or ""))
        now = s.current or {}
        if (
            s.scope != "app"
            or s.policy != "spike_arrest"
            or fc is None
            or not now.get("per_minute")
        ):
            continue
        share = _share(ctx, s.proxy, s.app)
        if fc.p90 * share > float(now["per_minute"]):
            limit = float(now["per_minute"])
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


def _share(ctx: Context, proxy: str, app: str | None) -> float:
    table = ctx.demand.table
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
