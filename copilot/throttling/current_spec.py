"""The replay spec of a bundle limit, and why there is none when there cannot be one.

The literal of a ``ref`` is Apigee's fallback and is what atc replays (noted:
the value may differ at runtime). A literal ``<MessageWeight>`` w makes each
request count w: a Quota's allowance admits ``allow // w`` requests, a
SpikeArrest's bucket is drawn w tokens a request (both exact for a constant
weight); a ``ref`` weight is unknown, so there is no replay.
"""

from __future__ import annotations

import pandas as pd

from copilot.throttling.bundle import CurrentPolicy
from copilot.throttling.context import Context
from copilot.throttling.rates import is_valid_rate
from copilot.throttling.replay import SpikeArrestSpec
from copilot.throttling.replay_quota import QuotaSpec
from copilot.timeunits import DAY_MS


def never_rejects(policy: CurrentPolicy) -> str:
    if policy.continue_on_error:
        return 'continueOnError="true": would count, never rejects'
    if policy.quota_role == "count_only":
        return "CountOnly: would count, never rejects"
    return "EnforceOnly without a CountOnly partner sharing its SharedName: nothing counts, so it never rejects"


def replay_spec(ctx: Context, policy: CurrentPolicy, notes: list[str]):
    """(replay spec, None) or (None, why not)."""
    notes += [f"set by its call site: {r}" for r in policy.resolved]
    if policy.message_weight_ref:
        return None, (f"weighted by {policy.message_weight_ref}, which the logs do not carry: "
                      f"replay unavailable")  # fmt: skip
    weight = max(1, policy.message_weight or 1)
    if policy.kind == "SpikeArrest":
        if not policy.rate or not is_valid_rate(policy.rate):
            return None, f"rate {policy.rate_ref or policy.rate!r} unknown: replay unavailable"
        if policy.rate_ref:
            notes.append(
                f"rate from {policy.rate_ref} wins at runtime; replayed at the fallback {policy.rate}"
            )
        if weight > 1:
            notes.append(f"MessageWeight {weight}: each request takes {weight} of {policy.rate}")
        return SpikeArrestSpec(policy.rate, bool(policy.use_effective_count), weight), None
    if policy.allow is None or not policy.time_unit:
        return None, f"allowance {policy.allow_ref or '?'} unknown: replay unavailable"
    if policy.interval is None:
        return None, f"interval only from {policy.interval_ref} (no literal): replay unavailable"
    refs = [what for ref, what in ((policy.allow_ref, "allowance"), (policy.interval_ref, "interval"),
                                   (policy.time_unit_ref, "time unit")) if ref]  # fmt: skip
    if refs:
        notes.append(
            f"{', '.join(refs)} from flow variables win at runtime; replayed at the fallback "
            f"{policy.allow} per {policy.interval or 1} {policy.time_unit} (may differ)"
        )
    if policy.time_unit not in ("minute", "hour", "day", "week", "month"):
        return None, f"time unit {policy.time_unit!r} unknown: replay unavailable"
    allow = policy.allow // weight
    if weight > 1:
        notes.append(f"MessageWeight {weight}: {policy.allow} units admit {allow} requests")
    kind = policy.quota_type or "default"
    start = _start_ms(ctx, policy.start_time)
    return QuotaSpec(allow, policy.interval or 1, policy.time_unit, kind, start), None


def _start_ms(ctx: Context, text: str | None) -> int:
    if text:
        try:
            return int(pd.Timestamp(text, tz="UTC").value // 1_000_000)
        except (ValueError, TypeError):
            pass
    return 0 if ctx.first_ms is None else ctx.first_ms // DAY_MS * DAY_MS
