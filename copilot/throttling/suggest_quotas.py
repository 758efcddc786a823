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
from copilot.throttling.context import Context
from copilot.throttling.options import REJECT_SHARE
from copilot.throttling.policies_xml import quota_xml
from copilot.throttling.rates import UNIT_MS, tier_up
from copilot.throttling.replay_quota import QuotaSpec
from copilot.throttling.report import QUOTA, Suggestion
from copilot.throttling.sizing import counted_tally, peak_of, within
from copilot.throttling.suggest_apps import (
    App,
    app_policy_names,
    app_streams,
    app_suggestion,
    growth_of,
)
from copilot.timeunits import DAY_MS, HOUR_MS

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
    hour, per_hour = counted_tally(ctx.req, a.stream, HOUR_MS)
    hours = np.bincount(hour % 24, weights=per_hour, minlength=24) if hour.size else np.zeros(24)
    busy_hours = int((hours >= 0.01 * max(hours.sum(), 1)).sum())
    unit = "day" if busy_hours < 4 else "hour"
    window = UNIT_MS[unit]
    calendar = int(counted_tally(ctx.req, a.stream, window)[1].max()) if hour.size else 0
    rolling = peak_of(ctx.req, a.stream, window, "counted")
    kind = "rollingwindow" if rolling <= 1.2 * calendar else "calendar"
    return {"unit": unit, "window_ms": window, "type": kind, "calendar_max": calendar,
            "rolling_max": rolling, "base": float(rolling if kind == "rollingwindow" else calendar)}  # fmt: skip


def _allowance(ctx: Context, a: App, plan: dict, spec) -> tuple[int, bool]:
    """(the allowance, whether replay raised it): the plan's base x growth x safety, a tier
    up, then tiers up until replay keeps the 0.1 % rule (never for an abusive app)."""
    allow = tier_up(max(plan["base"], 1.0) * growth_of(ctx, a.app) * QUOTA_SAFETY)
    raised = False
    while not a.abusive and not within(ctx.req, a.stream, spec(allow)):
        allow, raised = tier_up(allow + 1), True
    return allow, raised


def _quota_rationale(
    ctx: Context, a: App, plan: dict, allow: int, raised: bool, status: str
) -> str:
    unit = plan["unit"]
    if status == "abusive":
        return f"{a.app} is abusive: its quota comes from the cohort, {allow:,} per {unit}."
    rolling = plan["type"] == "rollingwindow"
    why = (
        f"busiest {'rolling ' if rolling else ''}{unit} held {plan['base']:.0f} requests; "
        f"x {growth_of(ctx, a.app):.2f} growth x {QUOTA_SAFETY:g} "
        f"= {allow:,} per {unit} rounded up to a tier"
        + (f" and raised until replay keeps {1 - REJECT_SHARE:.1%}" if raised else "")
        + f"; {plan['type']} because the busiest rolling {unit} ({plan['rolling_max']}) "
        f"{'is close to' if rolling else 'exceeds'} the busiest calendar "
        f"one ({plan['calendar_max']})."
    )
    if status == "cohort":
        return f"Too little history: the cohort's rate gives {allow:,} per {unit}. " + why
    return why


def _quota(ctx: Context, a: App, plan: dict, proxy: str, name: str) -> Suggestion:
    start_ms = 0 if ctx.first_ms is None else ctx.first_ms // DAY_MS * DAY_MS

    def spec(n: int) -> QuotaSpec:
        return QuotaSpec(n, 1, plan["unit"], plan["type"], start_ms)

    allow, raised = _allowance(ctx, a, plan, spec)
    status = "abusive" if a.abusive else ("cohort" if not a.enough else "ok")
    conf = {"abusive": "medium", "cohort": "low"}.get(status, "high" if a.enough else "low")
    start = _start_time(start_ms) if plan["type"] == "calendar" else None
    value = {"allow": allow, "interval": 1, "time_unit": plan["unit"], "type": plan["type"],
             "start_time": start, "identifier": "client_id"}  # fmt: skip
    return app_suggestion(
        ctx, a, proxy,
        policy=QUOTA,
        name=name,
        value=value,
        evidence={"growth": growth_of(ctx, a.app),
                  **{k: plan[k] for k in ("calendar_max", "rolling_max")}},
        spec=spec(allow),
        now=cur.for_client(ctx, proxy, a.party, "Quota"),
        xml=quota_xml(name, allow, time_unit=plan["unit"], quota_type=plan["type"],
                      start_time=start, identifier="client_id"),
        confidence=conf,
        rationale=_quota_rationale(ctx, a, plan, allow, raised, status),
        status=status,
    )  # fmt: skip


def _start_time(ms: int) -> str:
    return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M:%S")
