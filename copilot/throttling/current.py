"""The limit a suggestion replaces: from a proxy bundle when given, else from the logs.

From a bundle (``copilot.throttling.bundle``) the policy and its value are
known. From the logs alone atc knows which policies refused whose requests
(``ax_execution_fault_policy_name`` with a SpikeArrest or Quota fault code),
not their values; for a Quota it infers the allowance as the most requests
admitted to that client in one clock hour that also saw its QuotaViolations
(the sample's quotas are hourly; the inference says so). Apigee counts a
quota per proxy (quota policy reference: "Quotas apply to individual API
proxies"); a product-driven quota shows here as its ``countRef``.
"""

from __future__ import annotations

import numpy as np

from copilot.logs.schema import QUOTA_FAULT, SPIKE_ARREST_FAULT
from copilot.throttling.bundle import CurrentPolicy
from copilot.throttling.context import Context
from copilot.throttling.rates import per_minute

_KIND_CODE = {"SpikeArrest": SPIKE_ARREST_FAULT, "Quota": QUOTA_FAULT}


def _bundle_dict(policy: CurrentPolicy) -> dict:
    out = {
        "source": "bundle",
        "policy": policy.name,
        "bundle": policy.proxy,
        "bundle_kind": policy.bundle_kind,
        "identity": policy.identifier_kind,
        "value": policy.value_text(),
        "enabled": policy.enabled,
        "enforces": policy.enforces,
        "attached": list(policy.attached),
        "conditions": list(policy.conditions),
        "via": sorted({a.via for a in policy.attachments if a.via}),
    }
    if policy.kind == "SpikeArrest":
        out["rate"] = policy.rate
        out["use_effective_count"] = bool(policy.use_effective_count)
        try:
            out["per_minute"] = per_minute(policy.rate or "")
        except Exception:  # noqa: BLE001 - a rate from a ref or malformed: unknown
            out["per_minute"] = None
    else:
        out.update(
            allow=policy.allow,
            allow_ref=policy.allow_ref,
            interval=policy.interval,
            time_unit=policy.time_unit,
            type=policy.quota_type or "default",
        )
    return out


def find_policy(ctx: Context, now: dict | None) -> CurrentPolicy | None:
    """The bundle policy a ``current`` dict describes."""
    if not now or now.get("source") != "bundle":
        return None
    return next(
        (p for p in ctx.current if (p.proxy, p.name) == (now.get("bundle"), now.get("policy"))),
        None,
    )


def _authoritative(ctx: Context, proxy: str) -> bool:
    """A bundle read holds this proxy (or limits running in it): the logs do not add any."""
    if ctx.estate is not None and any(
        b.kind == "proxy" and b.name == proxy for b in ctx.estate.bundles
    ):
        return True
    return any(p.runs_in(proxy) for p in ctx.current)


def _rank(p: CurrentPolicy) -> tuple:
    return (not p.enforces, not p.unconditional, p.bundle_kind != "proxy", p.name)


def _refusing(ctx: Context, rows: np.ndarray, kind: str) -> list[tuple[str, int]]:
    """(policy, refusals) of that kind among ``rows``."""
    refused = rows[ctx.demand.refused[rows]]
    ids, counts = np.unique(ctx.req.policy[refused], return_counts=True)
    out = []
    for i, n in zip(ids.tolist(), counts.tolist(), strict=True):
        name = ctx.req.policies[i]
        if name and _KIND_CODE[kind] in ctx.req.fault_codes.get(name, ()):
            out.append((name, int(n)))
    return sorted(out, key=lambda x: -x[1])


def for_proxy(ctx: Context, proxy: str) -> dict | None:
    """The proxy-wide SpikeArrest (no client identifier) now in place."""
    found = [
        p
        for p in ctx.current
        if p.kind == "SpikeArrest" and p.proxy_wide and p.enabled and p.runs_in(proxy)
    ]
    if found:
        found.sort(key=_rank)
        return _bundle_dict(found[0])
    pid = ctx.req.proxy_id(proxy)
    if pid is None or _authoritative(ctx, proxy):
        return None  # the bundle is authoritative for its proxy
    seen = _refusing(ctx, ctx.req.rows_of_proxy(pid), "SpikeArrest")
    if not seen:
        return None
    return {
        "source": "logs",
        "policies": [{"policy": n, "refused": c} for n, c in seen],
        "value": None,
        "note": "SpikeArrest policies that refused requests here; pass --bundle for their rates",
    }


def for_client(ctx: Context, proxy: str, party: int, kind: str) -> dict | None:
    """The per-client SpikeArrest or Quota now applying to one app on one proxy."""
    app, client = ctx.req.parties[party]
    found = [
        p
        for p in ctx.current
        if p.kind == kind
        and p.per_client
        and p.enabled
        and p.quota_role != "count_only"
        and p.runs_in(proxy)
        and (p.for_client in (None, client, app))
    ]
    if found:
        found.sort(key=lambda p: (p.for_client is None, *_rank(p)))
        out = _bundle_dict(found[0])
        if kind == "Quota" and found[0].allow_ref:
            # The product's value wins over the literal; the logs show what it was.
            inferred = infer_hourly_allow(ctx, party, found[0].name)
            if inferred:
                out["allow_inferred"] = inferred
        return out
    pid = ctx.req.proxy_id(proxy)
    if pid is None or _authoritative(ctx, proxy):
        return None  # the bundle is authoritative for its proxy
    rows = ctx.req.rows_of_pair(pid, party)
    seen = _refusing(ctx, rows, kind)
    if not seen:
        return None
    out = {
        "source": "logs",
        "policy": seen[0][0],
        "refused": seen[0][1],
        "value": None,
        "note": f"{kind} that refused this app's requests; pass --bundle for its value",
    }
    if kind == "Quota":
        inferred = infer_hourly_allow(ctx, party, seen[0][0])
        if inferred:
            out["allow_inferred"] = inferred
            out["value"] = f"~{inferred} per hour (inferred from the logs)"
    return out


def for_every_client(ctx: Context, proxy: str) -> dict | None:
    """An unconditional per-client SpikeArrest on the proxy (the per-client ceiling)."""
    found = [
        p
        for p in ctx.current
        if p.kind == "SpikeArrest"
        and p.per_client
        and p.enabled
        and p.for_client is None
        and p.runs_in(proxy)
    ]
    return _bundle_dict(sorted(found, key=_rank)[0]) if found else None


def infer_hourly_allow(ctx: Context, party: int, policy: str) -> int | None:
    """Most requests admitted to a client in a clock hour that also saw ``policy`` refuse it."""
    req = ctx.req
    mine = np.flatnonzero(req.party == party)
    if mine.size == 0 or policy not in req.policies:
        return None
    hour = req.ts[mine] // 3_600_000
    hit = req.policy[mine] == req.policies.index(policy)
    admitted = ~ctx.demand.refused[mine]
    hours = np.unique(hour[hit])
    if hours.size == 0:
        return None
    pos = np.searchsorted(hours, hour)
    inside = (pos < hours.size) & (hours[np.minimum(pos, hours.size - 1)] == hour) & admitted
    counts = np.bincount(pos[inside], minlength=hours.size)
    return int(counts.max()) if counts.size else None


def logs_kinds(ctx: Context) -> dict[str, str]:
    """Policy name -> SpikeArrest | Quota, from the fault codes seen in the logs."""
    out = {}
    for name, codes in ctx.req.fault_codes.items():
        for kind, code in _KIND_CODE.items():
            if code in codes:
                out[name] = kind
    return out
