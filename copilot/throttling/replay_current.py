"""Replay the limits a bundle has, where and for whom Apigee would run them.

A policy runs on the rows where one of its attachments' conditions
(:class:`~copilot.throttling.bundle.Attachment`) is true; conditions are
evaluated on the flow variables the logs carry (:func:`flow_columns`). Rows
whose condition is unknown (a variable the logs lack) are NOT replayed, and
the entry says how many there were and which variables were missing.

Counters follow the ``<Identifier>``: one per value of the identity the logs
carry (app, client id -- which is also the API key VerifyAPIKey checks --,
client IP, API product); a policy keyed on something the logs lack (a
developer, a JWT claim, a custom variable) gets no replay numbers, never a
proxy-wide stand-in. No identifier: one counter for the proxy (Apigee:
"If you don't specify an Identifier, a single counter is used"). A literal
``<MessageWeight>`` divides the allowance; a ref weight is unknown (no
numbers). ``continueOnError="true"`` and CountOnly quotas never reject: their
trips are reported as ``would_trip``. A CountOnly and an EnforceOnly quota
sharing a ``<SharedName>`` are one quota: the enforcer's allowance over the
requests the counter counts. A ``ref`` wins at runtime; its literal is the
fallback replayed here, with a note that the value may differ.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from copilot.apigee.conditions import Condition, parse_condition
from copilot.throttling.bundle import CurrentPolicy
from copilot.throttling.context import Context, Placement
from copilot.throttling.current_pair import pair_rejected
from copilot.throttling.current_spec import never_rejects, replay_spec
from copilot.throttling.flow_columns import WithParams, available, column, flow_columns
from copilot.throttling.replay import SpikeArrestSpec
from copilot.throttling.replay_quota import QuotaSpec
from copilot.throttling.sizing import Impact, impact, run

_KEY_FIELD = {"app": "app", "client_id": "client_id", "api_key": "client_id",
              "client_ip": "client_ip", "product": "api_product"}  # fmt: skip
_NO_FIELD = {"developer": "developer", "jwt_claim": "JWT claims", "custom": "that variable"}


def runs_on(
    ctx: Context, policy: CurrentPolicy, proxy: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(rows of ``proxy`` where the policy runs, rows where that is unknown, variables the
    logs lack)."""
    rows = ctx.req.rows_of_proxy(proxy)
    name = ctx.req.proxies[proxy]
    true = np.zeros(rows.size, dtype=bool)
    unknown = np.zeros(rows.size, dtype=bool)
    missing: set[str] = set()
    columns = None
    for a in policy.runs_in(name):
        cond = parse_condition(a.condition)
        if cond.always:
            t, u = np.ones(rows.size, dtype=bool), np.zeros(rows.size, dtype=bool)
        else:
            if columns is None:
                columns = flow_columns(ctx, proxy, rows, _base_paths(ctx, name))
            lowered = _lower_condition(cond)
            seen = WithParams(columns, a.params, rows.size) if a.params else columns
            t, u = lowered.evaluate_columns(seen, rows.size)
            missing |= {v for v in lowered.variables if v not in seen}
            if cond.problem:
                missing.add(f"(unreadable condition: {cond.problem})")
        if a.fault:  # a FaultRule runs only after a fault: a request that failed
            failed = _failed(ctx, rows)
            t, u = t & failed, u & failed
        true |= t
        unknown |= u
    unknown &= ~true
    return rows[true], rows[unknown], sorted(missing)


def _lower_condition(cond: Condition) -> Condition:
    """Apigee variable names are matched without regard to case here (``Request.Verb``)."""
    return cond.renamed(str.lower)


def _failed(ctx: Context, rows: np.ndarray) -> np.ndarray:
    if ctx.req.status is not None:
        return ctx.req.status[rows] >= 400
    cls = ctx.req.outcome[rows] // 2  # copilot.analysis.outcomes: 1 4xx, 2 5xx, 3 gateway
    return (cls >= 1) & (cls <= 3)


def _base_paths(ctx: Context, proxy: str) -> tuple[str, ...]:
    estate = getattr(ctx, "estate", None)
    if estate is None:
        return ()
    return next((b.base_paths for b in estate.bundles if b.kind == "proxy" and b.name == proxy), ())


def placement(ctx: Context, policy: CurrentPolicy, proxy: int) -> Placement:
    """:func:`runs_on`, evaluated once per policy and proxy and shared by every app."""
    key = (policy.proxy, policy.name, proxy)
    if key not in ctx.placements:
        ctx.placements[key] = Placement(*runs_on(ctx, policy, proxy))
    return ctx.placements[key]


def identity_keys(
    ctx: Context, kind: str, rows: np.ndarray
) -> tuple[np.ndarray | None, str | None]:
    """(one counter key per row, or None for one counter), or (None, why) when the logs
    do not carry the identity."""
    if kind == "none":
        return None, None
    field = _KEY_FIELD.get(kind)
    if field is None:
        return (
            None,
            f"per-{kind} limit; the logs have no {_NO_FIELD.get(kind, kind)}, so its replay is unavailable",
        )
    if not available(ctx, field, ()):
        return None, f"per-{kind} limit; the logs have no {field}, so its replay is unavailable"
    codes = column(ctx, field, 0, rows, ()).cat.codes.to_numpy().astype(np.int64)
    return codes, None  # unidentified callers (-1) share one counter, as a null identifier does


def _entry(
    policy: CurrentPolicy,
    counter: CurrentPolicy | None,
    proxy: str,
    rows: int,
    unknown: int,
    missing: list[str],
) -> dict:
    """A replay entry with what is known before replaying; the numbers are None until then."""
    return {
        "policy": policy.name if counter is None else f"{policy.name} + {counter.name}",
        "bundle": policy.proxy,
        "bundle_kind": policy.bundle_kind,
        "proxy": proxy,
        "kind": policy.kind,
        "identity": policy.identifier_kind,
        "identifier": policy.identifier,
        "value": policy.value_text(),
        "rows": rows,
        "unknown_rows": unknown,
        "missing_variables": missing,
        "rejected": None,
        "legit_healthy_rejected": None,
        "legit_healthy_rejected_share": None,
        "abusive_rejected": None,
        "would_trip": None,
        "unidentified_rows": 0,  # keyed rows with no identity value: one shared counter
        "notes": [],
    }


def unit_placement(placed: Placement, counted: Placement | None) -> Placement:
    """Where a unit runs: a policy's placement, or with ``counted`` (its CountOnly partner's)
    the rows either runs on, unknown where neither is known to run, and both's missing."""
    if counted is None:
        return placed
    rows = np.union1d(placed.rows, counted.rows)
    unsure = np.setdiff1d(np.union1d(placed.unsure, counted.unsure), rows)
    return Placement(rows, unsure, sorted({*placed.missing, *counted.missing}))


class Placed(Protocol):
    """A unit's requests on a proxy (one app's, when asked), however they are held: the
    whole share (:class:`_WholeShare`) or streams on disk
    (``copilot.throttling.sliced_current``)."""

    rows: int  # requests it runs on
    unknown: int  # requests where that is unknown
    missing: list[str]  # the variables the logs lack for that

    def identity(self, kind: str) -> tuple[str | None, int]:
        """(why the logs cannot key it, or None; requests with no identity value)."""
        ...

    def impact(self, spec: SpikeArrestSpec | QuotaSpec) -> Impact:
        """What replaying ``spec`` over its requests (retries collapsed) rejects."""
        ...


class _WholeShare:
    """:class:`Placed` over a share held in ``ctx.req``."""

    def __init__(
        self,
        ctx: Context,
        policy: CurrentPolicy,
        proxy: int,
        party: int | None,
        counter: CurrentPolicy | None,
    ) -> None:
        self.ctx = ctx
        self.enforcer = placement(ctx, policy, proxy).rows
        self.counts = self.enforcer if counter is None else placement(ctx, counter, proxy).rows
        self.pair = counter is not None
        counted = None if counter is None else placement(ctx, counter, proxy)
        where, unsure, self.missing = unit_placement(placement(ctx, policy, proxy), counted)
        if party is not None:
            where = where[ctx.req.party[where] == party]
            unsure = unsure[ctx.req.party[unsure] == party]
        self.rows, self.unknown = int(where.size), int(unsure.size)
        self.stream = ctx.stream(where)

    def identity(self, kind: str) -> tuple[str | None, int]:
        self.stream.keys, no_key = identity_keys(self.ctx, kind, self.stream.rows)
        keys = self.stream.keys
        return no_key, 0 if keys is None else int((keys < 0).sum())

    def impact(self, spec: SpikeArrestSpec | QuotaSpec) -> Impact:
        stream, req = self.stream, self.ctx.req
        if self.pair:
            enforced = np.isin(stream.rows, self.enforcer)
            counted = np.isin(stream.rows, self.counts)
            rejected = pair_rejected(stream.times(req), stream.keys, enforced, counted, spec)
        else:
            rejected = run(req, stream, spec).rejected
        return impact(req, stream, rejected)


def replay_policy(
    ctx: Context,
    policy: CurrentPolicy,
    proxy: int,
    party: int | None = None,
    counter: CurrentPolicy | None = None,
) -> dict:
    """What ``policy`` would have done on ``proxy`` (one app's requests with ``party``).

    With ``counter`` (a CountOnly quota sharing its SharedName), the rows are those
    either runs on: the enforcer refuses, the counter counts, and a refused request is
    not counted (:mod:`copilot.throttling.current_pair`). A context with
    ``current_streams`` (a share too large to hold: ``copilot.throttling.sliced_current``)
    replays its streams on disk; the entry is the one the whole share gives."""
    streams = getattr(ctx, "current_streams", None)
    if streams is not None:
        placed: Placed = streams.placed(policy, proxy, party, counter)
    else:
        placed = _WholeShare(ctx, policy, proxy, party, counter)
    return replay_entry(ctx, policy, counter, ctx.req.proxies[proxy], placed)


def replay_entry(
    ctx: Context, policy: CurrentPolicy, counter: CurrentPolicy | None, proxy: str, placed: Placed
) -> dict:
    """The replay entry of a unit (``policy``, with its ``counter`` or not) on ``proxy``
    from where it runs (``placed``): the numbers, or why there are none, and the notes."""
    unknown, missing = placed.unknown, placed.missing
    out = _entry(policy, counter, proxy, placed.rows, unknown, missing)
    notes = out["notes"]
    if unknown:
        notes.append(f"{unknown:,} requests not replayed: the condition is unknown without "
                     f"{', '.join(missing) or 'variables the logs lack'}")  # fmt: skip
    spec, why = replay_spec(ctx, policy, notes)
    if not policy.enabled:
        notes.append('enabled="false": it never runs')
        return out
    no_key, unset = placed.identity(policy.identifier_kind)
    if no_key or spec is None:
        notes.append(no_key or why)
        return out
    if unset:
        out["unidentified_rows"] = unset
        notes.append(f"{unset:,} requests carry no {_KEY_FIELD[policy.identifier_kind]}: they share "
                     f"one counter (atc's reading of an unset identifier)")  # fmt: skip
    result = placed.impact(spec)
    if not policy.enforces or (counter is None and policy.quota_role == "enforce_only"):
        out["would_trip"] = result.rejected
        out["rejected"] = out["legit_healthy_rejected"] = out["abusive_rejected"] = 0
        out["legit_healthy_rejected_share"] = 0.0
        notes.append(
            f"{never_rejects(policy)}; it would have tripped on {result.rejected:,} requests"
        )
        return out
    out.update(
        rejected=result.rejected,
        legit_healthy_rejected=result.counted_rejected,
        legit_healthy_rejected_share=round(result.share, 6),
        abusive_rejected=result.abusive_rejected,
    )
    return out
