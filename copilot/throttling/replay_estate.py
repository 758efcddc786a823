"""Every current limit replayed on every proxy it runs in, and what the reader must be warned of.

For each proxy in the logs, each bundle limit that runs there
(:meth:`CurrentPolicy.runs_in`: its own proxy, the proxies calling its shared
flow, or every proxy for a flow hook), its refs resolved by the parameters
its call sites there pass (:func:`~copilot.throttling.bundle_params.resolve`), is
replayed by
:func:`copilot.throttling.replay_current.replay_policy`; a CountOnly and an
EnforceOnly quota with one ``<SharedName>`` give one entry. Warnings: the
estate's own (:meth:`Estate.warnings`), a bundle's proxy with no requests in
the logs, refusals logged by a SpikeArrest or Quota no bundle has, and every
replay that skipped rows (unknown condition), has no numbers (an identity
the logs lack) or put the rows that lack its identity on one shared counter.
"""

from __future__ import annotations

from copilot.logs.schema import QUOTA_FAULT, SPIKE_ARREST_FAULT
from copilot.throttling.bundle import CurrentPolicy, Estate
from copilot.throttling.bundle_params import resolve
from copilot.throttling.context import Context
from copilot.throttling.replay_current import replay_policy


def replay_proxy(ctx: Context, pid: int) -> tuple[list[dict], list[str]]:
    """(one replay entry per limit running in proxy ``pid``, their warnings); ``ctx.req``
    holds at least that proxy's requests."""
    name = ctx.req.proxies[pid]
    entries: list[dict] = []
    warnings: list[str] = []
    here = [resolve(p, name) for p in ctx.current if p.runs_in(name)]
    for policy, counter in _units(here):
        entry = replay_policy(ctx, policy, pid, counter=counter)
        entries.append(entry)
        warnings += _entry_warnings(entry)
    return entries, warnings


def estate_warnings(
    estate: Estate | None, seen: set[str], replays: list[str], refusers: list[str]
) -> list[str]:
    """Once each: the estate's warnings, the replays' (proxy by proxy), the bundle proxies
    with no requests (``seen``: those with some), the refusals no bundle explains."""
    head = [] if estate is None else list(estate.warnings())
    return list(dict.fromkeys(head + replays + absent_proxies(estate, seen) + refusers))


def _units(policies: list[CurrentPolicy]):
    """(policy, its counter or None): a CountOnly + EnforceOnly pair is one unit."""

    def key(p: CurrentPolicy):
        return (p.shared_name, p.quota_role) if p.kind == "Quota" and p.shared_name else None

    found = {key(p): p for p in policies if key(p)}
    for p in sorted(policies, key=lambda p: (p.proxy, p.name)):
        partner = None
        if p.shared_name and p.kind == "Quota":
            if p.quota_role == "count_only" and (p.shared_name, "enforce_only") in found:
                continue  # replayed with its enforcer
            if p.quota_role == "enforce_only":
                partner = found.get((p.shared_name, "count_only"))
        yield p, partner


def _entry_warnings(entry: dict) -> list[str]:
    where = f"{entry['bundle']}/{entry['policy']} on {entry['proxy']}"
    out = []
    if entry["unknown_rows"]:
        out.append(
            f"{where}: {entry['unknown_rows']:,} requests not replayed: its condition is unknown "
            f"without {', '.join(entry['missing_variables']) or 'variables the logs lack'}"
        )
    if entry.get("unidentified_rows"):
        out.append(f"{where}: {entry['unidentified_rows']:,} requests with no {entry['identity']} "
                   f"value were replayed on one shared counter")  # fmt: skip
    if entry["rejected"] is None and entry["notes"]:
        out.append(f"{where}: {entry['notes'][-1]}")
    return out


def absent_proxies(estate: Estate | None, seen: set[str]) -> list[str]:
    """A bundle's proxy that has no requests in the logs (``seen``: the proxies with some)."""
    if estate is None:
        return []
    return [
        f"proxy {b.name} (bundle {b.source}) has no requests in the logs: its limits are not replayed"
        for b in estate.bundles
        if b.kind == "proxy" and b.name not in seen
    ]


def unknown_refusers(ctx: Context, proxy: int) -> list[str]:
    """SpikeArrest / Quota policies that refused requests on ``proxy`` but no bundle has."""
    if ctx.estate is None:
        return []
    known = {p.name for p in ctx.estate.policies} | {
        u.policy for u in ctx.estate.unmodelled if u.policy
    }
    known |= {o.policy for o in ctx.estate.other}
    req = ctx.req
    names = {
        i: n
        for i, n in enumerate(req.policies)
        if n
        and n not in known
        and {SPIKE_ARREST_FAULT, QUOTA_FAULT} & set(req.fault_codes.get(n, ()))
    }
    return [
        f"the logs show {n:,} requests on {req.proxies[proxy]} refused by {names[policy]}, "
        f"a SpikeArrest or Quota no bundle read has (an older revision, another environment, "
        f"or a bundle not given)"
        for policy, n in sorted(ctx.faulted_by(proxy).items())
        if policy in names
    ]
