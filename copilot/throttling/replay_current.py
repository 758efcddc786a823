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

import numpy as np
import pandas as pd

from copilot.apigee.conditions import Condition, parse_condition
from copilot.logs.schema import NOT_SET
from copilot.throttling.bundle import CurrentPolicy
from copilot.throttling.context import Context
from copilot.throttling.current_spec import never_rejects, replay_spec
from copilot.throttling.sizing import impact, run

_FIELDS = {  # flow variable (lower case) -> what atc reads it from
    "request.verb": "verb",
    "request.path": "path",
    "request.uri": "path",  # the query string is not logged
    "proxy.pathsuffix": "pathsuffix",
    "proxy.basepath": "basepath",
    "client.ip": "client_ip",
    "proxy.client.ip": "client_ip",
    "apiproduct.name": "api_product",
    "client_id": "client_id",
    "developer.app.name": "app",
    "app.name": "app",
    "apiproxy.name": "proxy",
    "response.status.code": "status",
    "message.status.code": "status",
}
_KEY_FIELD = {"app": "app", "client_id": "client_id", "api_key": "client_id",
              "client_ip": "client_ip", "product": "api_product"}  # fmt: skip
_NO_FIELD = {"developer": "developer", "jwt_claim": "JWT claims", "custom": "that variable"}


def flow_columns(ctx: Context, proxy: int, rows: np.ndarray, base_paths=()) -> dict[str, pd.Series]:
    """Flow variable -> values over ``rows`` (null where Apigee's variable would be null);
    a variable the logs do not carry is absent (unavailable)."""
    out = {}
    for var, name in _FIELDS.items():
        col = _column(ctx, name, proxy, rows, base_paths)
        if col is not None:
            out[var] = col
    return out


def _column(ctx: Context, name: str, proxy: int, rows: np.ndarray, base_paths) -> pd.Series | None:
    req = ctx.req
    if name == "proxy":
        return pd.Series(np.full(rows.size, req.proxies[proxy], dtype=object))
    if name == "status":
        if req.status is None or not (req.status > 0).any():
            return None
        status = req.status[rows].astype(float)
        return pd.Series(np.where(status > 0, status, np.nan))  # 0: not logged
    if name in ("app", "client_id"):
        i = 0 if name == "app" else 1
        labels = [None if p[i] == NOT_SET else p[i] for p in req.parties]
        if all(v is None for v in labels):
            return None
        return _categorical(req.party[rows], labels)
    if name not in req.attrs:
        return None
    ids, labels = req.attrs[name]
    if name == "pathsuffix" and not any(labels) and base_paths and "path" in req.attrs:
        return _suffix(req, rows, base_paths)
    if not any(v and v != NOT_SET for v in labels):
        return None
    return _categorical(ids[rows], labels)


def _categorical(ids: np.ndarray, labels: list) -> pd.Series:
    """Values by id as a categorical; empty and (not set) are null (Apigee: unset variable)."""
    cats: dict[str, int] = {}
    codes = np.full(len(labels) + 1, -1, dtype=np.int64)
    for i, v in enumerate(labels):
        if v is not None and v != "" and v != NOT_SET:
            codes[i] = cats.setdefault(v, len(cats))
    return pd.Series(pd.Categorical.from_codes(codes[ids], list(cats)))


def _suffix(req, rows: np.ndarray, base_paths) -> pd.Series:
    ids, labels = req.attrs["path"]
    bases = sorted(base_paths, key=len, reverse=True)

    def cut(path: str) -> str | None:
        for b in bases:
            if path == b or path.startswith(b.rstrip("/") + "/"):
                return path[len(b.rstrip("/")) :]
        return None

    return pd.Series(np.array([cut(v) for v in labels], dtype=object)[ids[rows]])


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
                columns = _lower(flow_columns(ctx, proxy, rows, _base_paths(ctx, name)))
            lowered = _lower_condition(cond)
            t, u = lowered.evaluate_columns(columns, rows.size)
            missing |= {v for v in lowered.variables if v not in columns}
            if cond.problem:
                missing.add(f"(unreadable condition: {cond.problem})")
        if a.fault:  # a FaultRule runs only after a fault: a request that failed
            failed = _failed(ctx, rows)
            t, u = t & failed, u & failed
        true |= t
        unknown |= u
    unknown &= ~true
    return rows[true], rows[unknown], sorted(missing)


def _lower(columns: dict) -> dict:
    return {k.lower(): v for k, v in columns.items()}


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
    col = _column(ctx, field, 0, rows, ())
    if col is None:
        return None, f"per-{kind} limit; the logs have no {field}, so its replay is unavailable"
    codes = col.cat.codes.to_numpy().astype(np.int64)
    return codes, None  # unidentified callers (-1) share one counter, as a null identifier does


def replay_policy(
    ctx: Context,
    policy: CurrentPolicy,
    proxy: int,
    party: int | None = None,
    counter: CurrentPolicy | None = None,
) -> dict:
    """What ``policy`` would have done on ``proxy`` (one app's requests with ``party``).

    With ``counter`` (a CountOnly quota sharing its SharedName), the requests counted
    are those the counter runs on (module docstring)."""
    name = ctx.req.proxies[proxy]
    rows, unsure, missing = runs_on(ctx, counter or policy, proxy)
    if party is not None:
        rows = rows[ctx.req.party[rows] == party]
        unsure = unsure[ctx.req.party[unsure] == party]
    unknown = int(unsure.size)
    out = {
        "policy": policy.name if counter is None else f"{policy.name} + {counter.name}",
        "bundle": policy.proxy,
        "bundle_kind": policy.bundle_kind,
        "proxy": name,
        "kind": policy.kind,
        "identity": policy.identifier_kind,
        "identifier": policy.identifier,
        "value": policy.value_text(),
        "rows": int(rows.size),
        "unknown_rows": unknown,
        "missing_variables": missing,
        "rejected": None,
        "legit_healthy_rejected": None,
        "legit_healthy_rejected_share": None,
        "abusive_rejected": None,
        "would_trip": None,
        "notes": [],
    }
    notes = out["notes"]
    if unknown:
        notes.append(f"{unknown:,} requests not replayed: the condition is unknown without "
                     f"{', '.join(missing) or 'variables the logs lack'}")  # fmt: skip
    spec, why = replay_spec(ctx, policy, notes)
    if not policy.enabled:
        notes.append('enabled="false": it never runs')
        return out
    stream = ctx.stream(rows)
    keys, no_key = identity_keys(ctx, policy.identifier_kind, stream.rows)
    if no_key or spec is None:
        notes.append(no_key or why)
        return out
    stream.keys = keys
    result = impact(ctx.req, stream, run(ctx.req, stream, spec).rejected)
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
