"""What the targets answer, and how long everything takes.

The orders backend has a capacity knee (``Scenario.backend``): its load is
the mean rate of requests reaching it over the trailing 60 s. Below 0.75x
the knee it is healthy; at the knee its median latency is 1.5x the healthy
value and about 1% of calls fail; above it latency climbs steeply and the
backend's own ingress answers 502/503/504 (target status set, no Apigee
fault), and calls slower than the proxy's target timeout become Apigee 504
``GatewayTimeout`` faults. Other backends have headroom; they fail rarely,
and some rate-limit at their busiest (backend 429s, target status 429).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from copilot.logs import sample_scenario as sc
from copilot.logs.sample_estate import OPERATIONS, PROXIES
from copilot.logs.sample_policies import F_NONE, F_TIMEOUT, FAULTS
from copilot.logs.sample_traffic import DAY_S

_OP = OPERATIONS
_MEDIAN_MS = np.array([op.latency_ms for op in _OP])
_OK = np.array([op.ok_status for op in _OP], dtype=np.int16)
_CLIENT_STATUS = np.array([op.client_error[0] for op in _OP], dtype=np.int16)
_CLIENT_SHARE = np.array([op.client_error[1] for op in _OP])
_BACKEND_429 = np.array([op.backend_429 for op in _OP])
_REQ_BYTES = np.array([op.req_bytes for op in _OP], dtype=float)
_RESP_BYTES = np.array([op.resp_bytes for op in _OP], dtype=float)
_PROXY_INDEX = {p.name: i for i, p in enumerate(PROXIES)}
_PROXY_OF_OP = np.array([_PROXY_INDEX[op.proxy] for op in _OP], dtype=np.int8)
_BASE_5XX = 0.0004
_OVERLOAD_CODES = (np.array([503, 502, 504], dtype=np.int16), np.array([0.5, 0.2, 0.3]))
_BASE_CODES = (np.array([500, 502, 503], dtype=np.int16), np.array([0.6, 0.25, 0.15]))


@dataclass(frozen=True)
class Timing:
    """Per-request status and timings (ms); -1 where there is no value."""

    status: np.ndarray  # int16, what the client got
    target_status: np.ndarray  # int16, -1 when the target never answered
    fault: np.ndarray  # int8 index into FAULTS
    request_ms: np.ndarray  # int64: received -> sent to target (or total when no target)
    target_ms: np.ndarray  # int64, -1 when the target was not called
    response_ms: np.ndarray  # int64: target answered -> response sent
    request_size: np.ndarray
    response_size: np.ndarray


def slowdown(u: np.ndarray) -> np.ndarray:
    """Latency multiplier at utilisation ``u`` (load / knee): 1 below 0.75, 1.5 at 1."""
    below = 1.0 + 0.5 * (np.clip(u - 0.75, 0.0, 0.25) / 0.25) ** 2
    return below + 6.0 * np.clip(u - 1.0, 0.0, None)


def failure_share(u: np.ndarray) -> np.ndarray:
    """Share of calls the backend fails at utilisation ``u``: ~0 below 0.9, 1% at 1, steep above."""
    near = 0.0095 * (np.clip(u - 0.9, 0.0, 0.1) / 0.1) ** 2
    return np.minimum(_BASE_5XX + near + 0.7 * np.clip(u - 1.0, 0.0, None), 0.6)


def trailing_rate(sec: np.ndarray, mask: np.ndarray, window: int) -> np.ndarray:
    """Requests per second over the trailing ``window`` seconds, per second of the day."""
    counts = np.bincount(sec[mask], minlength=DAY_S).astype(float)
    csum = np.r_[0.0, np.cumsum(counts)]
    lo = np.maximum(np.arange(DAY_S) + 1 - window, 0)
    return (csum[1:] - csum[lo]) / window


def _pick(rng: np.random.Generator, codes: tuple[np.ndarray, np.ndarray], n: int) -> np.ndarray:
    return rng.choice(codes[0], size=n, p=codes[1])


def _lognormal(rng: np.random.Generator, median: np.ndarray, sigma: float) -> np.ndarray:
    return median * rng.lognormal(0.0, sigma, median.shape)


def _busy_factor(sec: np.ndarray, proxy: np.ndarray, reached: np.ndarray) -> np.ndarray:
    """Per request: its proxy's load (trailing 15 min) relative to that proxy's busiest today."""
    out = np.zeros(sec.size)
    for index in np.unique(proxy[reached]):
        mask = reached & (proxy == index)
        rate = trailing_rate(sec, mask, 900)
        out[proxy == index] = rate[sec[proxy == index]] / max(rate.max(), 1e-9)
    return out


def backend_outcomes(
    sec: np.ndarray,
    op: np.ndarray,
    fault: np.ndarray,
    error_boost: np.ndarray,
    scenario: sc.Scenario,
    rng: np.random.Generator,
) -> Timing:
    """Statuses, timings and sizes; ``fault`` holds the gateway's faults (copied, extended)."""
    n = sec.size
    fault = fault.copy()
    proxy = _PROXY_OF_OP[op]
    reached = fault == F_NONE
    knee = scenario.backend
    kneed = proxy == _PROXY_INDEX[knee.proxy]
    u = trailing_rate(sec, reached & kneed, knee.load_window_s)[sec] / knee.knee_rps
    u = np.where(kneed, u, 0.0)

    target_ms = _lognormal(rng, _MEDIAN_MS[op], 0.45) * slowdown(u)
    target_status = np.where(reached, _OK[op], -1).astype(np.int16)

    draw = rng.random(n)
    client = reached & (draw < np.minimum(_CLIENT_SHARE[op] * error_boost, 0.5))
    target_status[client] = _CLIENT_STATUS[op][client]
    busy = _busy_factor(sec, proxy, reached)
    throttled = reached & ~client & (rng.random(n) < _BACKEND_429[op] * busy**2)
    target_status[throttled] = 429
    target_ms[throttled] = rng.uniform(2, 15, throttled.sum())

    p_fail = np.where(kneed, failure_share(u), _BASE_5XX)
    failed = reached & ~client & ~throttled & (rng.random(n) < p_fail)
    overload = failed & (u >= 0.9)
    target_status[overload] = _pick(rng, _OVERLOAD_CODES, int(overload.sum()))
    target_status[failed & ~overload] = _pick(rng, _BASE_CODES, int((failed & ~overload).sum()))
    # Overloaded ingress: 503 fails fast, 504 waits for its own upstream timeout.
    target_ms[failed & (target_status == 503)] = rng.uniform(
        3, 40, (failed & (target_status == 503)).sum()
    )
    slow = failed & (target_status == 504)
    # ~10% outlast the proxy's 10 s target timeout: then Apigee answers 504 GatewayTimeout
    target_ms[slow] = rng.normal(9000, 800, slow.sum()).clip(6000)

    timed_out = reached & (target_ms > knee.target_timeout_ms)
    target_ms[timed_out] = knee.target_timeout_ms
    target_status[timed_out] = -1
    fault[timed_out] = F_TIMEOUT

    return _timing(rng, op, fault, target_status, np.where(reached, target_ms, -1.0))


def _timing(
    rng: np.random.Generator,
    op: np.ndarray,
    fault: np.ndarray,
    target_status: np.ndarray,
    target_ms: np.ndarray,
) -> Timing:
    n = op.size
    gateway = np.array([f[2] for f in FAULTS], dtype=np.int16)[fault]
    status = np.where(target_status > 0, target_status, gateway).astype(np.int16)
    called = target_ms >= 0
    request_ms = np.maximum(1, np.rint(rng.lognormal(np.log(4.0), 0.4, n))).astype(np.int64)
    # A gateway rejection is answered from the request flow in a couple of ms.
    rejected = ~called
    request_ms[rejected] = np.maximum(1, np.rint(rng.lognormal(np.log(2.0), 0.35, rejected.sum())))
    response_ms = np.rint(rng.lognormal(np.log(2.0), 0.4, n)).astype(np.int64)
    response_ms[rejected] = rng.integers(0, 2, rejected.sum())
    target = np.where(called, np.maximum(1, np.rint(target_ms)), -1).astype(np.int64)

    ok = (status < 400) & (status > 0)
    request_size = np.where(_REQ_BYTES[op] > 0, _lognormal(rng, _REQ_BYTES[op], 0.3), 0.0)
    response_size = np.where(ok, _lognormal(rng, _RESP_BYTES[op], 0.35), rng.uniform(90, 320, n))
    fault_body = np.array([f[3] for f in FAULTS])[fault]
    response_size = np.where(fault_body > 0, fault_body, response_size)
    return Timing(
        status=status,
        target_status=target_status,
        fault=fault,
        request_ms=request_ms,
        target_ms=target,
        response_ms=response_ms,
        request_size=np.rint(request_size).astype(np.int64),
        response_size=np.rint(response_size).astype(np.int64),
    )
