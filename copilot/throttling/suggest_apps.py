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
from copilot.throttling.policies_xml import (
    client_condition,
    policy_name,
    spike_arrest_xml,
)
from copilot.throttling.replay import SpikeArrestSpec
from copilot.throttling.report import SPIKE_ARREST, Suggestion
from copilot.throttling.sizing import Stream, impact, run
from copilot.throttling.suggest import Sizing, current_replay, mode_text, size

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
    for pid, party in ctx.req.pairs():
        if pid != proxy:
            continue
        stream = ctx.pair_stream(proxy, party)
        if stream.rows.size == 0:
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


def _app_spike(
    ctx: Context, a: App, cohort: int, proxy_pm: int, proxy: str, name: str
) -> Suggestion:
    sizing = a.sizing or Sizing(cohort, cohort)
    now = cur.for_client(ctx, proxy, a.party, "SpikeArrest")
    if a.abusive:
        value, status, conf = cohort, "abusive", "medium"
        why = (
            f"{a.app} is abusive ({_abuse_text(ctx, a)}): sized from its cohort's "
            f"{cohort} req/min, not from its own history."
        )
        held = (now or {}).get("per_minute")
        if held and held < cohort:  # never loosen the limit on an abusive client
            value = max(1, int(held))
            why += f" The current {value} req/min is tighter, so it stays."
        effective = True
    elif not a.enough:
        value, status, conf = max(cohort, sizing.need), "cohort", "low"
        why = (
            f"Too little history ({a.stats.get('days_seen', 0)} days, {a.stats.get('requests', 0)} "
            f"healthy requests): the cohort's {cohort} req/min, raised to {value} if replay needs it."
        )
        effective = sizing.use_effective_count
    else:
        value, status = max(a.own, sizing.need), "ok"
        conf = "high" if a.stats["requests"] >= 1_000 else "medium"
        why = (
            f"90th percentile of its daily busiest minute x {ctx.headroom:g} headroom = {a.own} "
            f"req/min; replay needs {sizing.need}; {mode_text(sizing)}."
        )
        effective = sizing.use_effective_count
    if not a.abusive and value > proxy_pm:
        why += f" Above the proxy's {proxy_pm} req/min, which binds first."
    rate = f"{max(1, value)}pm"
    spec = SpikeArrestSpec(rate, effective)
    condition = client_condition(a.client_id)
    return Suggestion(
        policy=SPIKE_ARREST,
        scope="app",
        policy_name=name,
        proxy=proxy,
        app=a.app,
        client_id=a.client_id,
        value={
            "rate": rate,
            "use_effective_count": effective,
            "per_minute": max(1, value),
            "identifier": "client_id",
        },  # fmt: skip
        evidence={
            **a.stats,
            "abusive": a.abusive,
            "own_candidate_rpm": a.own or None,
            "cohort_rpm": cohort,
            "least_rate_smoothing_pm": None if a.sizing is None else sizing.smoothing,
            "least_rate_effective_count_pm": None if a.sizing is None else sizing.effective,
            "headroom": ctx.headroom,
            "growth": growth_of(ctx, a.app),
            "replay_current": current_replay(ctx, now, ctx.req.proxies.index(proxy), a.party),
        },
        replay=impact(ctx.req, a.stream, run(ctx.req, a.stream, spec).rejected),
        confidence=conf,
        rationale=why,
        status=status,
        current=now,
        excluded=excluded_for(ctx, proxy, a.app),
        xml=spike_arrest_xml(name, rate, use_effective_count=effective, identifier="client_id"),
        condition=condition,
    )


def _ceiling(ctx: Context, proxy: int, value: int, proxy_pm: int) -> Suggestion:
    name = ctx.req.proxies[proxy]
    stream = ctx.proxy_stream(proxy, keys=True)
    value = min(value, proxy_pm)
    now = cur.for_every_client(ctx, name)
    policy = now["policy"] if now else policy_name("SA-PerClient", name)
    rate = f"{max(1, value)}pm"
    spec = SpikeArrestSpec(rate, True)
    return Suggestion(
        policy=SPIKE_ARREST,
        scope="app_default",
        policy_name=policy,
        proxy=name,
        app=None,
        client_id=None,
        value={
            "rate": rate,
            "use_effective_count": True,
            "per_minute": max(1, value),
            "identifier": "client_id",
        },  # fmt: skip
        evidence={
            "largest_legitimate_app_rpm": value,
            "proxy_rpm": proxy_pm,
            "replay_current": current_replay(ctx, now, proxy),
        },
        replay=impact(ctx.req, stream, run(ctx.req, stream, spec).rejected),
        confidence="medium",
        rationale=(
            f"Every client id gets at most the largest legitimate per-app rate ({value} req/min), "
            f"so an app not seen yet cannot take the whole proxy; named apps' own limits are lower."
        ),
        current=now,
        excluded=excluded_for(ctx, name),
        xml=spike_arrest_xml(policy, rate, use_effective_count=True, identifier="client_id"),
    )


def _abuse_text(ctx: Context, a: App) -> str:
    found = next((x for x in ctx.abusive if (x.app, x.client_id) == (a.app, a.client_id)), None)
    return "; ".join(found.reasons) if found else "flagged"
