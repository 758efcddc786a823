"""Per-app SpikeArrest and Quota, from each app's own history or its cohort's.

THROTTLING.md ("A sound method", step 6): an app's SpikeArrest is the 90th
percentile of its daily busiest minute x headroom (x its forecast growth when
it is a top app), raised until replay rejects at most 0.1 % of its healthy
requests, and capped by the proxy's rate. Its Quota is the most it sent in one
interval (hour, or day for an app busy in fewer than four hours of the day)
over normal periods x growth x 1.5, rounded up to a tier; ``rollingwindow``
when the busiest rolling interval is within 1.2x the busiest calendar one
(steady traffic: a rolling window enforces it evenly), else ``calendar``
(traffic tied to clock boundaries, such as top-of-hour syncs). An app seen
fewer than ``min(7, days of data)`` days or with fewer than 200 healthy
requests takes its cohort's value (the median of the proxy's well-observed
apps), marked low confidence. An abusive app is always sized from its cohort:
its own history is the abuse. A per-client ceiling (every client id, the
largest legitimate per-app rate) covers apps not seen yet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from copilot.logs.schema import NOT_SET
from copilot.throttling import current as cur
from copilot.throttling.context import (
    DAY_MS,
    Context,
    daily_peaks,
    excluded_for,
    rate_stats,
)
from copilot.throttling.policies_xml import (
    client_condition,
    policy_name,
    quota_xml,
    spike_arrest_xml,
)
from copilot.throttling.rates import UNIT_MS, tier_up
from copilot.throttling.replay import QuotaSpec, SpikeArrestSpec
from copilot.throttling.report import QUOTA, SPIKE_ARREST, Suggestion
from copilot.throttling.sizing import Stream, impact, peak_window, run, within
from copilot.throttling.suggest import Sizing, mode_text, size

MIN_HEALTHY = 200
HOUR_MS = 3_600_000
QUOTA_SAFETY = 1.5


@dataclass
class _App:
    party: int
    app: str
    client_id: str
    stream: Stream
    stats: dict
    abusive: bool
    enough: bool
    sizing: Sizing | None = None
    own: int = 0  # own candidate per minute


def _apps(ctx: Context, proxy: int) -> list[_App]:
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
        out.append(_App(party, app, client, stream, stats, bool(ctx.bad_party[party]), enough))
    return out


def _growth(ctx: Context, app: str) -> float:
    fc = ctx.forecasts.get(("app", app))
    return 1.0 if fc is None else float(np.clip(fc.growth, 1.0, 1.5))


def spike_arrests(ctx: Context, proxy: int, proxy_pm: int) -> list[Suggestion]:
    """Per-app SpikeArrests on one proxy, then the per-client ceiling."""
    apps = _apps(ctx, proxy)
    for a in apps:
        if a.abusive or not a.stats.get("requests"):
            continue
        a.sizing = size(ctx, a.stream)
        peaks = daily_peaks(ctx.req, a.stream)
        base = float(np.quantile(peaks, 0.9)) if peaks.size else 1.0
        a.own = max(1, math.ceil(base * ctx.headroom * _growth(ctx, a.app)))
    cohort_values = [max(a.own, a.sizing.need) for a in apps if a.enough and a.sizing]
    cohort = int(np.median(cohort_values)) if cohort_values else max(1, proxy_pm // 10)
    name = ctx.req.proxies[proxy]
    out, ceiling = [], []
    for a in sorted(apps, key=lambda a: a.app):
        if a.sizing is not None:
            ceiling.append(max(a.own, a.sizing.need) if a.enough else max(cohort, a.sizing.need))
        if a.client_id == NOT_SET:
            continue  # unidentified callers: covered by the proxy limit and the ceiling
        out.append(_app_spike(ctx, a, cohort, proxy_pm, name))
    if out:
        out.append(_ceiling(ctx, proxy, max(ceiling or [cohort]), proxy_pm))
    return out


def _app_spike(ctx: Context, a: _App, cohort: int, proxy_pm: int, proxy: str) -> Suggestion:
    sizing = a.sizing or Sizing(cohort, cohort)
    if a.abusive:
        value, status, conf = cohort, "abusive", "medium"
        why = (
            f"{a.app} is abusive ({_abuse_text(ctx, a)}): sized from its cohort's "
            f"{cohort} req/min, not from its own history."
        )
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
    name = policy_name("SA-App", a.app)
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
            "growth": _growth(ctx, a.app),
        },
        replay=impact(ctx.req, a.stream, run(ctx.req, a.stream, spec).rejected),
        confidence=conf,
        rationale=why,
        status=status,
        current=cur.for_client(ctx, proxy, a.party, "SpikeArrest"),
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
        evidence={"largest_legitimate_app_rpm": value, "proxy_rpm": proxy_pm},
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


def _abuse_text(ctx: Context, a: _App) -> str:
    found = next((x for x in ctx.abusive if (x.app, x.client_id) == (a.app, a.client_id)), None)
    return "; ".join(found.reasons) if found else "flagged"


def quotas(ctx: Context, proxy: int) -> list[Suggestion]:
    """Per-app Quotas on one proxy (Apigee counts a quota per proxy)."""
    name = ctx.req.proxies[proxy]
    apps = [a for a in _apps(ctx, proxy) if a.client_id != NOT_SET]
    plans = {a.party: _plan(ctx, a) for a in apps}
    well = [plans[a.party] for a in apps if a.enough and not a.abusive and a.stats.get("requests")]
    hourly = [p["base"] * HOUR_MS / p["window_ms"] for p in well]
    cohort = float(np.median(hourly)) if hourly else None  # requests per hour
    out = []
    for a in sorted(apps, key=lambda a: a.app):
        plan = plans[a.party]
        if a.abusive and cohort is not None:
            # An abusive app's own history is the abuse: a normal app's hour.
            plan = {
                **plan,
                "unit": "hour",
                "window_ms": HOUR_MS,
                "type": "calendar",
                "base": cohort,
            }
        elif not a.enough and cohort is not None:
            plan = {**plan, "base": max(plan["base"], cohort * plan["window_ms"] / HOUR_MS)}
        out.append(_quota(ctx, a, plan, name))
    return out


def _plan(ctx: Context, a: _App) -> dict:
    ts = ctx.req.ts[a.stream.rows[a.stream.counted]]
    hours = np.bincount((ts // 3_600_000) % 24, minlength=24) if ts.size else np.zeros(24)
    busy_hours = int((hours >= 0.01 * max(hours.sum(), 1)).sum())
    unit = "day" if busy_hours < 4 else "hour"
    window = UNIT_MS[unit]
    calendar = int(np.bincount(ts // window - ts[0] // window).max()) if ts.size else 0
    rolling = peak_window(ts, window)
    kind = "rollingwindow" if rolling <= 1.2 * calendar else "calendar"
    return {"unit": unit, "window_ms": window, "type": kind, "calendar_max": calendar,
            "rolling_max": rolling, "base": float(rolling if kind == "rollingwindow" else calendar)}  # fmt: skip


def _quota(ctx: Context, a: _App, plan: dict, proxy: str) -> Suggestion:
    growth = _growth(ctx, a.app)
    allow = tier_up(max(plan["base"], 1.0) * growth * QUOTA_SAFETY)
    start_ms = int(ctx.req.ts[0] // DAY_MS * DAY_MS) if ctx.req.size else 0
    start_text = _start_time(start_ms)

    def spec(n: int) -> QuotaSpec:
        return QuotaSpec(n, 1, plan["unit"], plan["type"], start_ms)

    raised = False
    while not a.abusive and not within(ctx.req, a.stream, spec(allow)):
        allow, raised = tier_up(allow + 1), True
    status = "abusive" if a.abusive else ("cohort" if not a.enough else "ok")
    conf = {"abusive": "medium", "cohort": "low"}.get(status, "high" if a.enough else "low")
    base_text = f"busiest {'rolling ' if plan['type'] == 'rollingwindow' else ''}{plan['unit']}"
    why = (
        f"{base_text} held {plan['base']:.0f} requests; x {growth:.2f} growth x {QUOTA_SAFETY:g} "
        f"= {allow:,} per {plan['unit']} rounded up to a tier"
        + (" and raised until replay keeps 99.9%" if raised else "")
        + f"; {plan['type']} because the busiest rolling {plan['unit']} ({plan['rolling_max']}) "
        f"{'is close to' if plan['type'] == 'rollingwindow' else 'exceeds'} the busiest calendar "
        f"one ({plan['calendar_max']})."
    )
    if status == "abusive":
        why = f"{a.app} is abusive: its quota comes from the cohort, {allow:,} per {plan['unit']}."
    elif status == "cohort":
        why = f"Too little history: the cohort's rate gives {allow:,} per {plan['unit']}. " + why
    name = policy_name("Q-App", a.app)
    start = start_text if plan["type"] == "calendar" else None
    return Suggestion(
        policy=QUOTA,
        scope="app",
        policy_name=name,
        proxy=proxy,
        app=a.app,
        client_id=a.client_id,
        value={
            "allow": allow,
            "interval": 1,
            "time_unit": plan["unit"],
            "type": plan["type"],
            "start_time": start,
            "identifier": "client_id",
        },  # fmt: skip
        evidence={
            **a.stats,
            "abusive": a.abusive,
            "growth": growth,
            **{k: plan[k] for k in ("calendar_max", "rolling_max")},
        },  # fmt: skip
        replay=impact(ctx.req, a.stream, run(ctx.req, a.stream, spec(allow)).rejected),
        confidence=conf,
        rationale=why,
        status=status,
        current=cur.for_client(ctx, proxy, a.party, "Quota"),
        excluded=excluded_for(ctx, proxy, a.app),
        xml=quota_xml(
            name,
            allow,
            time_unit=plan["unit"],
            quota_type=plan["type"],
            start_time=start,
            identifier="client_id",
        ),  # fmt: skip
        condition=client_condition(a.client_id),
    )


def _start_time(ms: int) -> str:
    import pandas as pd

    return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M:%S")
