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

from copilot.logs.schema import QUOTA_FAULT, SPIKE_ARREST_FAULT
from copilot.throttling.bundle import CurrentPolicy
from copilot.throttling.bundle_params import resolve
from copilot.throttling.context import Context
from copilot.throttling.current_limit import CurrentLimit, Refusal

_KIND_CODE = {"SpikeArrest": SPIKE_ARREST_FAULT, "Quota": QUOTA_FAULT}


def _authoritative(ctx: Context, proxy: str) -> bool:
    """A bundle read holds this proxy (or limits running in it): the logs do not add any."""
    if ctx.estate is not None and any(
        b.kind == "proxy" and b.name == proxy for b in ctx.estate.bundles
    ):
        return True
    return any(p.runs_in(proxy) for p in ctx.current)


def _here(ctx: Context, proxy: str) -> list[CurrentPolicy]:
    """The limits that run in ``proxy``, as its call sites' parameters set them."""
    return [resolve(p, proxy) for p in ctx.current if p.runs_in(proxy)]


def _rank(p: CurrentPolicy) -> tuple:
    return (not p.enforces, not p.unconditional, p.bundle_kind != "proxy", p.name)


def _refusing(ctx: Context, proxy: int, party: int | None, kind: str) -> list[tuple[str, int]]:
    """(policy, refusals) of that kind on ``proxy`` (of ``party``, when given), most first."""
    out = []
    for i, n in sorted(ctx.refused_by(proxy, party).items()):
        name = ctx.req.policies[i]
        if name and _KIND_CODE[kind] in ctx.req.fault_codes.get(name, ()):
            out.append((name, int(n)))
    return sorted(out, key=lambda x: -x[1])


def for_proxy(ctx: Context, proxy: str) -> CurrentLimit | None:
    """The proxy-wide SpikeArrest (no client identifier) now in place."""
    found = [
        p
        for p in _here(ctx, proxy)
        if p.kind == "SpikeArrest" and p.proxy_wide and p.enabled
    ]
    if found:
        found.sort(key=_rank)
        return CurrentLimit.from_bundle(found[0])
    pid = ctx.req.proxy_id(proxy)
    if pid is None or _authoritative(ctx, proxy):
        return None  # the bundle is authoritative for its proxy
    seen = _refusing(ctx, pid, None, "SpikeArrest")
    if not seen:
        return None
    return CurrentLimit(
        "logs", "SpikeArrest", None, None,
        refusals=tuple(Refusal(n, c) for n, c in seen),
        note="SpikeArrest policies that refused requests here; pass --bundle for their rates",
    )  # fmt: skip


def for_client(ctx: Context, proxy: str, party: int, kind: str) -> CurrentLimit | None:
    """The per-client SpikeArrest or Quota now applying to one app on one proxy."""
    app, client = ctx.req.parties[party]
    found = [
        p
        for p in _here(ctx, proxy)
        if p.kind == kind
        and p.per_client
        and p.enabled
        and p.quota_role != "count_only"
        and (p.for_client in (None, client, app))
    ]
    if found:
        found.sort(key=lambda p: (p.for_client is None, *_rank(p)))
        inferred = None
        if kind == "Quota" and found[0].allow_ref:
            # The product's value wins over the literal; the logs show what it was.
            inferred = infer_hourly_allow(ctx, party, found[0].name)
        return CurrentLimit.from_bundle(found[0], inferred)
    pid = ctx.req.proxy_id(proxy)
    if pid is None or _authoritative(ctx, proxy):
        return None  # the bundle is authoritative for its proxy
    seen = _refusing(ctx, pid, party, kind)
    if not seen:
        return None
    policy, refused = seen[0]
    inferred = infer_hourly_allow(ctx, party, policy) if kind == "Quota" else None
    return CurrentLimit(
        "logs", kind, policy,
        f"~{inferred} per hour (inferred from the logs)" if inferred else None,
        allow_inferred=inferred,
        refusals=(Refusal(policy, refused),),
        note=f"{kind} that refused this app's requests; pass --bundle for its value",
    )  # fmt: skip


def for_every_client(ctx: Context, proxy: str) -> CurrentLimit | None:
    """An unconditional per-client SpikeArrest on the proxy (the per-client ceiling)."""
    found = [
        p
        for p in _here(ctx, proxy)
        if p.kind == "SpikeArrest" and p.per_client and p.enabled and p.for_client is None
    ]
    return CurrentLimit.from_bundle(sorted(found, key=_rank)[0]) if found else None


def infer_hourly_allow(ctx: Context, party: int, policy: str) -> int | None:
    """Most requests admitted to a client in a clock hour that also saw ``policy`` refuse it
    (on any proxy: ``copilot.throttling.admits``)."""
    if policy not in ctx.req.policies:
        return None
    return ctx.admits.infer(party, ctx.req.policies.index(policy))
