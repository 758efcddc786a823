"""What happened to each request: success, 4xx, 5xx or gateway throttling.

Each row gets an *outcome code* ``class * 2 + backend_429`` (10 values), where
the classes are disjoint:

- ``OK``: status below 400;
- ``GATEWAY``: the gateway's own throttling refused it — a SpikeArrest or Quota
  fault (``policies.ratelimit.SpikeArrestViolation``/``QuotaViolation``, or
  the bare fault name a MessageLogging template may log), whatever the status:
  Apigee Edge reports a QuotaViolation as HTTP 500 unless the organisation
  enables ``features.isHTTPStatusTooManyRequestEnabled`` (docs/apigee.md,
  'Throttling policies'). Also a 429 raised by a policy (fault policy set, target never
  reached) with no fault code logged, and a 500 with no fault code from a
  policy whose name says it throttles (``spike``, ``quota``, ``ratelimit``);
- ``E4XX`` / ``E5XX``: every other 4xx / 5xx status, so an Edge quota 500 never
  counts as a backend failure;
- ``UNKNOWN``: no status was logged (a MessageLogging template without
  ``response.status.code``) and no throttling fault either: the request counts
  in ``requests`` and in no error class;

and ``backend_429`` marks a target that answered 429 on a request the gateway
did not throttle, whatever status the client then got (usually 429, so it is
also inside ``E4XX``). Backend 429s and 5xx are capacity signals; gateway 429s
are censored demand (docs/throttling.md, 'Demand with retries collapsed').
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from copilot.logs.schema import GATEWAY_THROTTLE_FAULTS

OK, E4XX, E5XX, GATEWAY, UNKNOWN = 0, 1, 2, 3, 4
N_OUTCOMES = 10
FIELDS = ("requests", "errors_4xx", "errors_5xx", "gateway_429", "backend_429")

_THROTTLE_NAMES = {code.rsplit(".", 1)[-1] for code in GATEWAY_THROTTLE_FAULTS}
_THROTTLE_POLICY = re.compile(r"spike|quota|rate.?limit|throttl", re.IGNORECASE)


def is_throttle_fault(code: str) -> bool:
    """True for a SpikeArrest/Quota violation fault code, full or bare name."""
    return code in GATEWAY_THROTTLE_FAULTS or code.rsplit(".", 1)[-1] in _THROTTLE_NAMES


def _category_flags(series: pd.Series, predicate) -> tuple[np.ndarray, np.ndarray]:
    """Per-row (flag, is_empty) from a categorical column via its categories."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype("category")
    cats = [str(c) for c in series.cat.categories]
    flag_lut = np.array([predicate(c) for c in cats] + [False], dtype=bool)
    empty_lut = np.array([c.strip() == "" for c in cats] + [True], dtype=bool)
    codes = series.cat.codes.to_numpy()  # -1 (missing) indexes the last slot
    return flag_lut[codes], empty_lut[codes]


def outcome_codes(chunk: pd.DataFrame) -> np.ndarray:
    """The outcome code (0..9) of every row of a canonical chunk, as int64."""
    status = chunk["status"].to_numpy(dtype=np.int16, na_value=0)
    target = chunk["target_status"]
    target_status = target.to_numpy(dtype=np.int16, na_value=0)
    fault_throttle, no_code = _category_flags(chunk["fault_code"], is_throttle_fault)
    policy_throttle, no_policy = _category_flags(
        chunk["fault_policy"], lambda p: bool(_THROTTLE_POLICY.search(p))
    )
    policy_fault = ~no_policy & no_code & (target_status == 0)
    gateway = (
        fault_throttle
        | (policy_fault & (status == 429))
        | (policy_fault & (status == 500) & policy_throttle)
    )
    cls = np.where(status >= 500, E5XX, np.where(status >= 400, E4XX, OK))
    cls = np.where(status == 0, UNKNOWN, cls)
    cls = np.where(gateway, GATEWAY, cls)
    backend_429 = (target_status == 429) & ~gateway
    return cls.astype(np.int64) * 2 + backend_429


# Which outcome codes each field counts (``class * 2 + backend_429``).
_FIELD_CODES = {
    "requests": tuple(range(N_OUTCOMES)),
    "errors_4xx": (2 * E4XX, 2 * E4XX + 1),
    "errors_5xx": (2 * E5XX, 2 * E5XX + 1),
    "gateway_429": (2 * GATEWAY, 2 * GATEWAY + 1),
    "backend_429": (1, 3, 5, 7, 9),
}
CLASS_NAMES = {OK: "ok", E4XX: "4xx", E5XX: "5xx", GATEWAY: "gateway_429", UNKNOWN: "unknown"}


def field_sums(
    row: np.ndarray, code: np.ndarray, counts: np.ndarray, n_rows: int
) -> dict[str, np.ndarray]:
    """Per output row, the count of each field in ``FIELDS`` from (row, code, count) cells."""
    out = {}
    for field in FIELDS:
        mask = np.isin(code, _FIELD_CODES[field])
        sums = np.bincount(row[mask], weights=counts[mask], minlength=n_rows)
        out[field] = sums.astype(np.int64)
    return out
