"""Outcome classes: 4xx, 5xx, gateway throttling (SpikeArrest/Quota) and backend 429s."""

from __future__ import annotations

import pandas as pd
import pytest

from copilot.analysis.outcomes import E4XX, E5XX, GATEWAY, OK, UNKNOWN, outcome_codes
from copilot.logs import schema

SA, QV = schema.SPIKE_ARREST_FAULT, schema.QUOTA_FAULT

# status, target_status, fault_policy, fault_code, class, backend_429
CASES = [
    (200, 200, "", "", OK, False),
    (304, 304, "", "", OK, False),
    (404, 404, "", "", E4XX, False),
    (401, None, "VerifyAPIKey", "steps.oauth.v2.InvalidApiKey", E4XX, False),
    (503, 503, "", "", E5XX, False),
    (429, None, "SA-Protect", SA, GATEWAY, False),
    (429, None, "Quota-PerApp", QV, GATEWAY, False),
    # Apigee Edge without isHTTPStatusTooManyRequestEnabled: QuotaViolation is a 500
    (500, None, "Quota-PerApp", QV, GATEWAY, False),
    # MessageLogging templates may log the bare fault name
    (429, None, "SA-Protect", "SpikeArrestViolation", GATEWAY, False),
    # a policy raised 429 and no fault code was logged: the gateway refused it
    (429, None, "RF-TooMany", "", GATEWAY, False),
    # a 500 from a throttling policy with no fault code logged
    (500, None, "Quota-1", "", GATEWAY, False),
    # a 500 from another policy is a 5xx, not throttling
    (500, None, "JS-Broken", "", E5XX, False),
    # the target answered 429: a backend 429, whatever the client got
    (429, 429, "", "", E4XX, True),
    (503, 429, "", "", E5XX, True),
    # no status logged: unknown, never guessed as a success
    (None, None, "", "", UNKNOWN, False),
    # no status logged, but the throttling fault was: the gateway refused it
    (None, None, "SA-Protect", SA, GATEWAY, False),
]


@pytest.mark.parametrize(("status", "target", "policy", "code", "cls", "backend"), CASES)
def test_each_response_gets_its_outcome(
    status: int | None, target: int | None, policy: str, code: str, cls: int, backend: bool
) -> None:
    frame = schema.conform(
        pd.DataFrame(
            {
                "ts": [pd.Timestamp("2024-03-04", tz="UTC")],
                "proxy": ["p"],
                "verb": ["GET"],
                "path": ["/x"],
                "status": pd.array([status], dtype="Int16"),
                "target_status": pd.array([target], dtype="Int16"),
                "fault_policy": [policy],
                "fault_code": [code],
            }
        )
    )
    assert outcome_codes(frame).tolist() == [cls * 2 + int(backend)]
