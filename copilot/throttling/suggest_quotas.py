"""Per-app Quotas, from each app's own history or its cohort's.

docs/throttling.md, 'Quotas': the most an app sent in one interval
(an hour, or a day for an app busy in fewer than four hours of the day) over
normal periods, x its forecast growth x 1.5, rounded up to a tier, and raised
until replay rejects at most 0.1 % of its healthy requests. ``rollingwindow``
when the busiest rolling interval is within 1.2x the busiest calendar one
(steady traffic: a rolling window enforces it evenly), else ``calendar``
(traffic tied to clock boundaries, such as top-of-hour syncs), with
``StartTime`` at the first midnight of the data. An app with little history
takes at least its cohort's hourly rate (low confidence); an abusive app gets
a normal app's hour. Apigee counts a quota per proxy ("Quotas apply to
individual API proxies", quota policy reference), so each proxy gets its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from copilot.logs.schema import NOT_SET
from copilot.throttling import current as cur
from copilot.throttling.context import DAY_MS, Context, excluded_for
from copilot.throttling.policies_xml import client_condition, quota_xml
from copilot.throttling.rates import UNIT_MS, tier_up
from copilot.throttling.replay_quota import QuotaSpec
from copilot.throttling.report import QUOTA, Suggestion
from copilot.throttling.sizing import impact, peak_window, run, within
from copilot.throttling.suggest import current_replay
from copilot.throttling.suggest_apps import App, app_policy_names, app_streams, growth_of

HOUR_MS = 3_600_000
QUOTA_SAFETY = 1.5


def quotas(ctx: Context, proxy: int) -> list[Suggestion]:
    """Per-app Quotas on one proxy (Apigee counts a quota per proxy)."""
    name = ctx.req.proxies[proxy]
    apps = [a for a in app_streams(ctx, proxy) if a.client_id != NOT_SET]
    plans = {a.party: _plan(ctx, a) for a in apps}
    well = [plans[a.party] for a in apps if a.enough and not a.abusive and a.stats.get("requests")]
    hourly = [p["base"] * HOUR_MS / p["window_ms"] for p in well]
    cohort = float(np.median(hourly)) if hourly else None  # requests per hour
    names = app_policy_names("Q-App", apps)
    out = []
    for a in sorted(apps, key=lambda a: (a.app, a.client_id)):
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
        out.append(_quota(ctx, a, plan, name, names[a.party]))
    return out


def _plan(ctx: Context, a: App) -> dict:
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


def _quota(ctx: Context, a: App, plan: dict, proxy: str, name: str) -> Suggestion:
    growth = growth_of(ctx, a.app)
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
    start = start_text if plan["type"] == "calendar" else None
    now = cur.for_client(ctx, proxy, a.party, "Quota")
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
            "replay_current": current_replay(ctx, now, ctx.req.proxies.index(proxy), a.party),
        },  # fmt: skip
        replay=impact(ctx.req, a.stream, run(ctx.req, a.stream, spec(allow)).rejected),
        confidence=conf,
        rationale=why,
        status=status,
        current=now,
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
    return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M:%S")
