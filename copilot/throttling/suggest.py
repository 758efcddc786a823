"""The per-proxy SpikeArrest: below the knee, above legitimate peaks, proven by replay.

docs/throttling.md, 'Proxy SpikeArrest' and 'Sizing by replay': rate = min(0.8 x
knee, forecast peak x headroom), then replay history and raise it until at most
0.1 % of healthy legitimate requests would be rejected; when the knee binds
first, the answer is "capacity, not throttling". The mode follows the traffic:
smoothing (``UseEffectiveCount`` false) spaces requests evenly and protects the
backend best, so it is kept unless it needs more than 1.25x the rate the sliding
count (``UseEffectiveCount`` true) needs — bursty traffic, where
docs/throttling.md prefers ``pm`` + ``UseEffectiveCount``. A smoothed rate of 10
requests/s or more is written in ``ps`` when that passes replay too (its burst
bucket is a tenth of a second's worth, not six seconds'); otherwise ``pm``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from copilot.throttling import current as cur
from copilot.throttling.context import Context, excluded_for, rate_stats
from copilot.throttling.current_limit import CurrentLimit
from copilot.throttling.options import REJECT_SHARE
from copilot.throttling.policies_xml import policy_name, spike_arrest_xml
from copilot.throttling.replay import SpikeArrestSpec
from copilot.throttling.replay_current import replay_policy
from copilot.throttling.report import SPIKE_ARREST, Suggestion
from copilot.throttling.sizing import Impact, Stream, least_rate, replay_impact, within

BURSTY = 1.25  # smoothing needing this much more than the sliding count: bursty traffic
KNEE_SHARE = 0.8


@dataclass(frozen=True)
class Sizing:
    """The least rates (per minute) that keep the 0.1 % rule, per mode."""

    smoothing: int
    effective: int

    @property
    def use_effective_count(self) -> bool:
        return self.smoothing > BURSTY * self.effective

    @property
    def need(self) -> int:
        return self.effective if self.use_effective_count else self.smoothing


def size(ctx: Context, stream: Stream) -> Sizing:
    return Sizing(least_rate(ctx.req, stream, "pm", False), least_rate(ctx.req, stream, "pm", True))


def rate_for(ctx: Context, stream: Stream, per_minute: int, sizing: Sizing, cap: int | None) -> str:
    """``Npm``, or ``Nps`` for a fast smoothed rate that passes replay and stays under ``cap``."""
    if not sizing.use_effective_count and per_minute >= 600:
        n = math.ceil(per_minute / 60)
        if cap is not None and n * 60 > cap:
            n = cap // 60
        if n >= 10 and within(ctx.req, stream, SpikeArrestSpec(f"{n}ps")):
            return f"{n}ps"
    return f"{per_minute}pm"


def current_replay(
    ctx: Context, now: CurrentLimit | None, proxy: int, party: int | None = None
) -> dict | None:
    """What the current limit (read from a bundle) would have rejected on ``proxy`` (for one
    app with ``party``): where its conditions hold, one counter per its identity
    (copilot.throttling.replay_current). Numbers are None when they cannot be known."""
    policy = None if now is None else now.bundle_policy
    if policy is None:
        return None
    out = replay_policy(ctx, policy, proxy, party)
    if policy.kind == "SpikeArrest":
        out["rate"] = policy.rate
    return out


def spike_arrest_value(rate: str, use_effective_count: bool, identifier: str | None) -> dict:
    """A suggested SpikeArrest's ``value``: its rate, mode, rate per minute and identifier."""
    count, unit = int(rate[:-2]), rate[-2:]
    return {
        "rate": rate,
        "use_effective_count": use_effective_count,
        "per_minute": count * 60 if unit == "ps" else count,
        "identifier": identifier,
    }


def mode_text(sizing: Sizing) -> str:
    if sizing.use_effective_count:
        return (
            f"UseEffectiveCount, because the traffic is bursty: smoothing would need "
            f"{sizing.smoothing}pm to keep the rule, a sliding count {sizing.effective}pm"
        )
    return "smoothing (requests spaced evenly), which the traffic tolerates"


@dataclass(frozen=True)
class _Choice:
    """The proxy's rate per minute after the knee had its say."""

    value: int
    status: str = "ok"  # ok | capacity
    capped: bool = False  # lowered to the knee cap
    at_cap: Impact | None = None  # capacity: what the knee cap would reject
    conflict: str | None = None


def _choose(
    ctx: Context, stream: Stream, candidate: int, sizing: Sizing, cap: int | None, knee_rpm: float
) -> _Choice:
    """Candidate or replay's need, whichever is higher, held under the knee cap when it can be;
    when replay needs more than the cap, the answer is capacity, not throttling."""
    value = max(candidate, sizing.need)
    if cap is None or value <= cap:
        return _Choice(value)
    if sizing.need <= cap:
        return _Choice(cap, capped=True)
    spec = SpikeArrestSpec(f"{max(cap, 1)}pm", sizing.use_effective_count)
    at_cap = replay_impact(ctx.req, stream, spec)
    conflict = (
        f"capacity, not throttling: the backend's knee ({knee_rpm:.0f} req/min) is below "
        f"legitimate peak demand; a limit that protects it ({max(cap, 1)}pm) would reject "
        f"{at_cap.share:.2%} of healthy legitimate requests. Add backend capacity or move "
        f"the peak clients; {sizing.need}pm only guards against floods."
    )
    return _Choice(sizing.need, "capacity", at_cap=at_cap, conflict=conflict)


def proxy_suggestion(ctx: Context, proxy: int) -> Suggestion | None:
    """The proxy-wide SpikeArrest for one proxy (see module docstring)."""
    req, name = ctx.req, ctx.req.proxies[proxy]
    stream = ctx.proxy_stream(proxy)
    if not stream.counted_total:
        return None
    stats = rate_stats(req, stream)
    knee = ctx.knees.get(name)
    fc = ctx.forecasts.get(("proxy", name))
    peak = fc.peak if fc is not None else float(stats["peak_rpm"])
    candidate = max(1, math.ceil(max(peak, 1.0) * ctx.headroom))
    sizing = size(ctx, stream)
    cap = math.floor(KNEE_SHARE * knee.rpm) if knee is not None and knee.rpm else None
    choice = _choose(ctx, stream, candidate, sizing, cap, knee.rpm if knee and knee.rpm else 0.0)
    rate = rate_for(ctx, stream, choice.value, sizing, cap if choice.status == "ok" else None)
    now = cur.for_proxy(ctx, name)
    evidence = {
        **stats,
        "demand": _demand(ctx, name),
        "forecast_peak_rpm": None if fc is None else round(fc.peak, 2),
        "forecast_method": None if fc is None else fc.method,
        "headroom": ctx.headroom,
        "candidate_rpm": candidate,
        "knee_rpm": None if knee is None else knee.rpm,
        "knee": None if knee is None else knee.reason,
        "knee_cap_rpm": cap,
        "least_rate_smoothing_pm": sizing.smoothing,
        "least_rate_effective_count_pm": sizing.effective,
        "replay_at_knee_cap": None if choice.at_cap is None else choice.at_cap.to_dict(),
        "replay_current": current_replay(ctx, now, proxy),
    }
    policy = (
        now.policy if now and now.source == "bundle" and now.policy else policy_name("SA", name)
    )
    return proxy_level_spike_arrest(
        ctx, stream, name, "proxy", policy, rate, sizing.use_effective_count, None,
        evidence=evidence,
        confidence=_confidence(ctx, stats, knee, fc, choice.status, _beyond_seen(knee, choice)),
        rationale=_rationale(peak, candidate, cap, choice, sizing, stats, ctx.headroom)
        + _unknown_capacity(knee, choice),
        status=choice.status,
        conflict=choice.conflict,
        current=now,
        excluded=excluded_for(ctx, name),
    )  # fmt: skip


def proxy_level_spike_arrest(
    ctx: Context,
    stream: Stream,
    proxy: str,
    scope: str,
    policy: str,
    rate: str,
    effective: bool,
    identifier: str | None,
    **rest: Any,
) -> Suggestion:
    """A SpikeArrest for a whole proxy (``scope`` proxy, or app_default: every client id),
    with its replay over ``stream`` and its XML; ``rest``: evidence, rationale and the like."""
    spec = SpikeArrestSpec(rate, effective)
    return Suggestion(
        policy=SPIKE_ARREST,
        scope=scope,
        policy_name=policy,
        proxy=proxy,
        app=None,
        client_id=None,
        value=spike_arrest_value(rate, effective, identifier),
        replay=replay_impact(ctx.req, stream, spec),
        xml=spike_arrest_xml(policy, rate, use_effective_count=effective, identifier=identifier),
        **rest,
    )


def _demand(ctx: Context, proxy: str) -> dict:
    rows = ctx.demand.table[ctx.demand.table["proxy"] == proxy]
    cols = ("attempts", "refused", "retries", "demand")
    return {c: int(rows[c].sum()) for c in cols}


def _beyond_seen(knee, choice: _Choice) -> bool:
    """No knee in the data, and a limit above the highest load the backend ever served."""
    return knee is not None and not knee.rpm and choice.value > knee.observed_max_rpm


def _unknown_capacity(knee, choice: _Choice) -> str:
    if not _beyond_seen(knee, choice):
        return ""
    return (
        f" Capacity unknown beyond {knee.observed_max_rpm:.0f} req/min: the backend never "
        f"served more, so the logs cannot say whether it holds {choice.value} req/min. "
        f"Load-test it at that rate before relying on this limit to protect it."
    )


def _confidence(ctx: Context, stats: dict, knee, fc, status: str, beyond_seen: bool) -> str:
    if status == "capacity" or stats["requests"] < 1_000 or beyond_seen:
        return "low"
    if knee is None or knee.rpm is None or ctx.days < 7 or fc is None or not fc.errors:
        return "medium"
    return "high"


def _rationale(
    peak: float,
    candidate: int,
    cap: int | None,
    choice: _Choice,
    sizing: Sizing,
    stats: dict,
    headroom: float,
) -> str:
    first = (
        f"Legitimate demand peaks at {stats['peak_rpm']} req/min (p99 minute "
        f"{stats['per_minute']['p99']}); next week's forecast peak {peak:.0f} x {headroom:g} "
        f"headroom = {candidate} req/min."
    )
    share = f"{KNEE_SHARE:g} x"
    if choice.status == "capacity":
        second = (
            f"Replay needs {sizing.need} req/min to spare {1 - REJECT_SHARE:.1%} of legitimate "
            f"requests, above "
            f"{share} the knee ({cap}): capacity, not throttling."
        )
    elif sizing.need > candidate:
        second = (
            f"Raised to {sizing.need} req/min, the least rate at which replay rejects at most "
            f"{REJECT_SHARE:.1%} of healthy legitimate requests; {mode_text(sizing)}."
        )
    elif choice.capped:
        second = (
            f"Capped at {share} the backend's knee ({cap} req/min) to protect it; "
            f"{mode_text(sizing)}."
        )
    elif cap is None:
        second = f"No capacity knee in the data bounds it; {mode_text(sizing)}."
    else:
        second = f"Below {share} the knee ({cap} req/min); {mode_text(sizing)}."
    return f"{first} {second}"
