"""The gateway's own decisions: SpikeArrest, token/key verification, Quota.

Flow order on every proxy, as a platform team would attach them: SA-Global
(orders PreFlow, no identifier, so it also counts unauthenticated calls) ->
OAuth token or API key verification -> Q-PerApp (hourly, from the API
product) -> SA-PerApp (catalog, keyed on client_id, so after verification).
Rejected requests never reach the target.

SpikeArrest with ``UseEffectiveCount=true`` is modelled as a sliding count
over the rate's period across message processors (docs/apigee.md,
'Throttling policies'): with a rate of ``Npm`` at most N requests pass in any 60 s.
"""

from __future__ import annotations

import numpy as np

from copilot.logs import sample_scenario as sc
from copilot.logs.sample_apps import ABUSIVE_APP, APPS
from copilot.logs.sample_estate import NOT_SET, OPERATIONS
from copilot.logs.sample_traffic import DAY_S
from copilot.logs.schema import QUOTA_FAULT, SPIKE_ARREST_FAULT

# fault index -> (ax_execution_fault_policy_name, ax_edge_execution_fault_code, HTTP status,
# bytes of the fault body Apigee sends: fixed per fault, e.g. {"fault":{"faultstring":...}})
FAULTS: tuple[tuple[str, str, int, int], ...] = (
    ("", "", 0, 0),
    ("SA-Global", SPIKE_ARREST_FAULT, 429, 196),
    ("SA-PerApp", SPIKE_ARREST_FAULT, 429, 196),
    ("Q-PerApp", QUOTA_FAULT, 429, 178),
    ("OA-VerifyAccessToken", "steps.oauth.v2.access_token_expired", 401, 115),
    ("OA-VerifyAccessToken", "steps.oauth.v2.invalid_access_token", 401, 113),
    ("VA-VerifyApiKey", "steps.oauth.v2.InvalidApiKey", 401, 94),
    ("OA-VerifyAccessToken", "steps.oauth.v2.InsufficientScope", 403, 121),
    # Apigee gave up waiting for the target (io.timeout.millis): no policy, no target status.
    ("", "messaging.adaptors.http.flow.GatewayTimeout", 504, 107),
)
F_NONE, F_SA_GLOBAL, F_SA_APP, F_QUOTA, F_EXPIRED, F_INVALID, F_BAD_KEY, F_SCOPE, F_TIMEOUT = range(
    9
)
# Faults after which Apigee never learned who the caller was.
UNRESOLVED = (F_EXPIRED, F_INVALID, F_BAD_KEY)

_PROXY_OF_OP = np.array([op.proxy for op in OPERATIONS])
_KEY_APPS = np.array([a.name.startswith("partner-") or a.name == ABUSIVE_APP for a in APPS])
_ANONYMOUS = np.array([a.name == NOT_SET for a in APPS])
_AUTH_FAIL = np.array([a.auth_fail for a in APPS])
_SCOPE_FAIL = np.array([0.004 if a.name == "crm-backoffice" else 0.0 for a in APPS])


def group_rank(keys: np.ndarray) -> np.ndarray:
    """0-based position of each element among equal keys, in array order.

    ``keys`` must be sorted so that equal keys are contiguous (e.g. seconds of
    time-sorted rows).
    """
    n = keys.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    lengths = np.diff(np.r_[starts, n])
    return np.arange(n) - np.repeat(starts, lengths)


def sliding_allowance(counts: np.ndarray, limit: int, window: int) -> np.ndarray:
    """Requests allowed per second when at most ``limit`` may pass in any ``window`` seconds.

    Greedy, earliest first. Only the stretch from the first to the last second
    whose demand window exceeds the limit needs the sequential pass: outside it
    every request passes (allowed <= demand keeps every window within the limit).
    """
    csum = np.r_[0, np.cumsum(counts)]
    demand = csum[window:] - csum[:-window]  # window ending at each second >= window-1
    head = csum[1:window]  # partial windows at the start of the day
    over = np.flatnonzero(np.r_[head, demand] > limit)
    allowed = counts.copy()
    if over.size == 0:
        return allowed
    first, last = int(over[0]), int(over[-1])
    passed = allowed.tolist()
    in_window = sum(passed[max(0, first - window + 1) : first])
    for s in range(first, last + 1):
        if s - window >= 0:
            in_window -= passed[s - window]
        take = min(passed[s], max(0, limit - in_window))
        passed[s] = take
        in_window += take
    return np.asarray(passed, dtype=counts.dtype)


def _spike_arrest(sec: np.ndarray, candidate: np.ndarray, limit: int) -> np.ndarray:
    """Boolean mask of candidates rejected by a sliding-count SpikeArrest."""
    idx = np.flatnonzero(candidate)
    counts = np.bincount(sec[idx], minlength=DAY_S)
    allowed = sliding_allowance(counts, limit, 60)
    rejected = np.zeros(sec.size, dtype=bool)
    rejected[idx] = group_rank(sec[idx]) >= allowed[sec[idx]]
    return rejected


def _quota(hour: np.ndarray, candidate: np.ndarray, allow: int) -> np.ndarray:
    """Boolean mask of candidates beyond the hourly allowance (calendar hours)."""
    idx = np.flatnonzero(candidate)
    rejected = np.zeros(hour.size, dtype=bool)
    rejected[idx] = group_rank(hour[idx]) >= allow
    return rejected


def gateway_faults(
    sec: np.ndarray,
    app: np.ndarray,
    op: np.ndarray,
    scenario: sc.Scenario,
    rng: np.random.Generator,
) -> np.ndarray:
    """Fault index per request (``F_NONE`` when the gateway let it through).

    ``sec`` is each request's second of its UTC day, in time order.
    """
    proxy = _PROXY_OF_OP[op]
    fault = np.zeros(sec.size, dtype=np.int8)

    sa_global = scenario.limit("SA-Global")
    per_min = round(sa_global.per_second * 60)
    fault[_spike_arrest(sec, proxy == sa_global.proxy, per_min)] = F_SA_GLOBAL

    u = rng.random(sec.size)
    open_ = fault == F_NONE
    auth = open_ & ~_ANONYMOUS[app] & (u < _AUTH_FAIL[app])
    expired = u < _AUTH_FAIL[app] * 0.7
    fault[auth & _KEY_APPS[app]] = F_BAD_KEY
    fault[auth & ~_KEY_APPS[app] & expired] = F_EXPIRED
    fault[auth & ~_KEY_APPS[app] & ~expired] = F_INVALID
    scope = (fault == F_NONE) & (rng.random(sec.size) < _SCOPE_FAIL[app])
    fault[scope] = F_SCOPE

    hour = sec // 3600
    for name, allow in scenario.limit("Q-PerApp").allow.items():
        index = next(i for i, a in enumerate(APPS) if a.name == name)
        fault[_quota(hour, (fault == F_NONE) & (app == index), allow)] = F_QUOTA

    sa_app = scenario.limit("SA-PerApp")
    per_min = round(sa_app.per_second * 60)
    on_proxy = (fault == F_NONE) & (proxy == sa_app.proxy)
    for index in np.unique(app[on_proxy]):
        fault[_spike_arrest(sec, on_proxy & (app == index), per_min)] = F_SA_APP
    return fault
