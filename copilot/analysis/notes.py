"""What the numbers count, said in words: status classes and what the logs did not carry.

The outcome classes (``copilot.analysis.outcomes``) are disjoint, so a
request refused by the gateway's own SpikeArrest or Quota is *not* in ``4xx``
(nor in ``5xx`` when Edge reported the Quota fault as a 500). A reader who
adds 4xx and 5xx to find "errors" must be told that, in the text output and in
JSON alike. Likewise a log that carries no path, verb or status: the tables
that need them are empty or partial, and the result says why instead of
inventing values.
"""

from __future__ import annotations

import numpy as np

from copilot.analysis.outcomes import CLASS_NAMES

ENDPOINTS_NEED_PATH = (
    "endpoints unavailable: the logs carry no request path (request.path / request_path); "
    "traffic is analysed per proxy, app and client only"
)


def status_classes(totals: np.ndarray) -> dict[str, int]:
    """Requests per outcome class (``ok``, ``4xx``, ``5xx``, ``gateway_429``, ``unknown``)
    plus ``backend_429``, which overlaps the classes (mostly inside ``4xx``)."""
    per_class = totals.reshape(-1, 2)
    out = {name: int(per_class[cls].sum()) for cls, name in CLASS_NAMES.items()}
    out["backend_429"] = int(per_class[:, 1].sum())
    return out


def accounting_notes(classes: dict[str, int], unlogged: dict[str, int], records: int) -> list[str]:
    """Plain statements of how requests were counted, for the text and JSON output."""
    notes = [
        f"4xx and 5xx exclude requests refused by the gateway's own SpikeArrest/Quota "
        f"({classes['gateway_429']:,}, counted as gateway_429 whatever their status, "
        f"e.g. an Edge QuotaViolation reported as 500); 'any' error rate includes them",
        f"backend 429s (the target answered 429, {classes['backend_429']:,}) stay in 4xx/5xx "
        f"by the status the client got and are also counted as backend_429",
    ]
    if records and unlogged.get("status"):
        notes.append(
            f"{unlogged['status']:,} of {records:,} requests have no logged status "
            f"(response.status.code): they count in requests and in no status class, "
            f"so error rates are lower bounds"
        )
    if records and unlogged.get("path") == records:
        notes.append(ENDPOINTS_NEED_PATH)
    elif unlogged.get("path"):
        notes.append(
            f"{unlogged['path']:,} of {records:,} requests have no logged path and are left "
            f"out of the endpoint table"
        )
    if records and unlogged.get("verb"):
        notes.append(
            f"{unlogged['verb']:,} of {records:,} requests have no logged verb "
            f"(shown as '(unknown)' in endpoints)"
        )
    return notes


def unavailable(unlogged: dict[str, int], records: int) -> dict[str, str]:
    """Tables the logs cannot fill, with the reason (empty when everything was logged)."""
    if records and unlogged.get("path") == records:
        return {"endpoints": ENDPOINTS_NEED_PATH}
    return {}
