"""Per-app SpikeArrest and Quota, from each app's own history or its cohort's.

docs/throttling.md, 'App limits': an app's SpikeArrest is the 90th
percentile of its daily busiest minute x headroom (x its forecast growth when
it is a top app), raised until replay rejects at most 0.1 % of its healthy
requests, and capped by the proxy's rate (its Quota: :mod:`copilot.throttling.suggest_quotas`).
An app seen
fewer than ``min(7, days of data)`` days or with fewer than 200 healthy
requests takes its cohort's value (the median of the proxy's well-observed
apps), marked low confidence. An abusive app is always sized from its cohort:
its own history is the abuse. A per-client ceiling (every client id, the
largest legitimate per-app rate) covers apps not seen yet.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from copilot.logs.schema import NOT_SET
from copilot.throttling import current as cur
from copilot.throttling.context import (
    Context,
    daily_peaks,
    excluded_for,
    rate_stats,
)
from copilot.throttling.current_limit import CurrentLimit
from copilot.throttling.policies_xml import (
    client_condition,
    policy_name,
    spike_arrest_xml,
)
from copilot.throttling.replay import SpikeArrestSpec
from copilot.throttling.replay_quota import QuotaSpec
from copilot.throttling.report import SPIKE_ARREST, Suggestion
from copilot.throttling.sizing import Stream, replay_impact
from copilot.throttling.suggest import (
    Sizing,
    current_replay,
    mode_text,
    proxy_level_spike_arrest,
    size,
    spike_arrest_value,
)

MIN_HEALTHY = 200


@dataclass
class App:
    party: int
    app: str
    client_id: str
    stream: Stream
    stats: dict
    abusive: bool
    enough: bool
    sizing: Sizing | None = None
    own: int = 0  # own candidate per minute


def app_streams(ctx: Context, proxy: int) -> list[App]:
    out = []
    for party in ctx.parties_on(proxy):
        stream = ctx.pair_stream(proxy, party)
        if stream.size == 0:
            continue
        app, client = ctx.req.parties[party]
        stats = rate_stats(ctx.req, stream)
        enough = stats.get("days_seen", 0) >= min(7, ctx.days) and stats["requests"] >= MIN_HEALTHY
        out.append(App(party, app, client, stream, stats, bool(ctx.bad_party[party]), enough))
    return out


def app_policy_names(prefix: str, apps: list[App]) -> dict[int, str]:
    """Party -> policy name, unique within the proxy's bundle (case-insensitively, as file
    names may be). An app with several client ids, or whose name collides with another's
    once sanitised, gets a short hash of its app and client id: stable across runs."""
    base = {a.party: policy_name(prefix, a.app) for a in apps}
    counts: dict[str, int] = {}
    for name in base.values():
        counts[name.lower()] = counts.get(name.lower(), 0) + 1
    out = {}
    for a in apps:
        name = base[a.party]
        if counts[name.lower()] > 1:
            digest = hashlib.sha256(f"{a.app}\x00{a.client_id}".encode()).hexdigest()[:8]
            name = policy_name(prefix, a.app, digest)
        out[a.party] = name
    return out


def growth_of(ctx: Context, app: str) -> float:
    fc = ctx.forecasts.get(("app", app))
    return 1.0 if fc is None else float(np.clip(fc.growth, 1.0, 1.5))


def spike_arrests(ctx: Context, proxy: int, proxy_pm: int) -> list[Suggestion]:
    """Per-app SpikeArrests on one proxy, then the per-client ceiling."""
    apps = app_streams(ctx, proxy)
    for a in apps:
        if a.abusive or not a.stats.get("requests"):
            continue
        a.sizing = size(ctx, a.stream)
        peaks = daily_peaks(ctx.req, a.stream)
        base = float(np.quantile(peaks, 0.9)) if peaks.size else 1.0
        a.own = max(1, math.ceil(base * ctx.headroom * growth_of(ctx, a.app)))
    cohort_values = [max(a.own, a.sizing.need) for a in apps if a.enough and a.sizing]
    cohort = int(np.median(cohort_values)) if cohort_values else max(1, proxy_pm // 10)
    name = ctx.req.proxies[proxy]
    names = app_policy_names("SA-App", [a for a in apps if a.client_id != NOT_SET])
    out, ceiling = [], []
    for a in sorted(apps, key=lambda a: (a.app, a.client_id)):
        if a.sizing is not None:
            ceiling.append(max(a.own, a.sizing.need) if a.enough else max(cohort, a.sizing.need))
        if a.client_id == NOT_SET:
            continue  # unidentified callers: covered by the proxy limit and the ceiling
        out.append(_app_spike(ctx, a, cohort, proxy_pm, name, names[a.party]))
    if out:
        out.append(_ceiling(ctx, proxy, max(ceiling or [cohort]), proxy_pm))
    return out


def app_suggestion(
    ctx: Context,
    a: App,
    proxy: str,
    *,
    policy: str,
    name: str,
    value: dict,
    evidence: dict,
    spec: SpikeArrestSpec | QuotaSpec,
    now: CurrentLimit | None,
    xml: str,
    **judgement: str,
) -> Suggestion:
    """A per-app suggestion (SpikeArrest or Quota) on ``proxy``: the app's stats and
    ``evidence``, the replay of ``spec`` and of the current limit; ``judgement``: its
    confidence, rationale and status."""
    return Suggestion(
        policy=policy,
        scope="app",
        policy_name=name,
        proxy=proxy,
        app=a.app,
        client_id=a.client_id,
        value=value,
        evidence={
            **a.stats,
            "abusive": a.abusive,
            **evidence,
            "replay_current": current_replay(ctx, now, ctx.req.proxies.index(proxy), a.party),
        },
        replay=replay_impact(ctx.req, a.stream, spec),
        current=now,
        excluded=excluded_for(ctx, proxy, a.app),
        xml=xml,
        condition=client_condition(a.client_id),
        **judgement,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class _Rate:
    """An app's SpikeArrest rate per minute, mode and why."""

    value: int
    effective: bool
    status: str
    confidence: str
    why: str


def _app_rate(ctx: Context, a: App, cohort: int, now: CurrentLimit | None) -> _Rate:
    """Abusive: the cohort's (never looser than now); little history: the cohort's, raised
    if replay needs it; otherwise its own candidate, raised if replay needs it."""
    sizing = a.sizing or Sizing(cohort, cohort)
    if a.abusive:
        why = (
            f"{a.app} is abusive ({_abuse_text(ctx, a)}): sized from its cohort's "
            f"{cohort} req/min, not from its own history."
        )
        held = None if now is None else now.per_minute
        if held and held < cohort:  # never loosen the limit on an abusive client
            value = max(1, int(held))
            why += f" The current {value} req/min is tighter, so it stays."
            return _Rate(value, True, "abusive", "medium", why)
        return _Rate(cohort, True, "abusive", "medium", why)
    if not a.enough:
        value = max(cohort, sizing.need)
        days, requests = a.stats.get("days_seen", 0), a.stats.get("requests", 0)
        why = (
            f"Too little history ({days} days, {requests} healthy requests): the cohort's "
            f"{cohort} req/min, raised to {value} if replay needs it."
        )
        return _Rate(value, sizing.use_effective_count, "cohort", "low", why)
    conf = "high" if a.stats["requests"] >= 1_000 else "medium"
    why = (
        f"90th percentile of its daily busiest minute x {ctx.headroom:g} headroom = {a.own} "
        f"req/min; replay needs {sizing.need}; {mode_text(sizing)}."
    )
    return _Rate(max(a.own, sizing.need), sizing.use_effective_count, "ok", conf, why)


def _app_spike(
    ctx: Context, a: App, cohort: int, proxy_pm: int, proxy: str, name: str
) -> Suggestion:
    now = cur.for_client(ctx, proxy, a.party, "SpikeArrest")
    r = _app_rate(ctx, a, cohort, now)
    why = r.why
    if not a.abusive and r.value > proxy_pm:
        why += f" Above the proxy's {proxy_pm} req/min, which binds first."
    rate = f"{max(1, r.value)}pm"
    measured = a.sizing is not None
    return app_suggestion(
        ctx, a, proxy,
        policy=SPIKE_ARREST,
        name=name,
        value=spike_arrest_value(rate, r.effective, "client_id"),
        evidence={
            "own_candidate_rpm": a.own or None,
            "cohort_rpm": cohort,
            "least_rate_smoothing_pm": a.sizing.smoothing if measured else None,
            "least_rate_effective_count_pm": a.sizing.effective if measured else None,
            "headroom": ctx.headroom,
            "growth": growth_of(ctx, a.app),
        },
        spec=SpikeArrestSpec(rate, r.effective),
        now=now,
        xml=spike_arrest_xml(name, rate, use_effective_count=r.effective, identifier="client_id"),
        confidence=r.confidence,
        rationale=why,
        status=r.status,
    )  # fmt: skip


def _ceiling(ctx: Context, proxy: int, value: int, proxy_pm: int) -> Suggestion:
    name = ctx.req.proxies[proxy]
    stream = ctx.proxy_stream(proxy, keys=True)
    value = min(value, proxy_pm)
    now = cur.for_every_client(ctx, name)
    policy = now.policy if now and now.policy else policy_name("SA-PerClient", name)
    return proxy_level_spike_arrest(
        ctx, stream, name, "app_default", policy, f"{max(1, value)}pm", True, "client_id",
        evidence={
            "largest_legitimate_app_rpm": value,
            "proxy_rpm": proxy_pm,
            "replay_current": current_replay(ctx, now, proxy),
        },
        confidence="medium",
        rationale=(
            f"Every client id gets at most the largest legitimate per-app rate ({value} req/min), "
            f"so an app not seen yet cannot take the whole proxy; named apps' own limits are lower."
        ),
        current=now,
        excluded=excluded_for(ctx, name),
    )  # fmt: skip


def _abuse_text(ctx: Context, a: App) -> str:
    found = next((x for x in ctx.abusive if (x.app, x.client_id) == (a.app, a.client_id)), None)
    return "; ".join(found.reasons) if found else "flagged"
