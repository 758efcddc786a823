"""CurrentLimit: one typed value for the limit in force, and its JSON in each of its shapes."""

from __future__ import annotations

import pytest

from copilot.throttling.bundle import CurrentPolicy
from copilot.throttling.current_limit import CurrentLimit, Refusal

SPIKE = CurrentPolicy(proxy="orders", name="SA-Global", kind="SpikeArrest", rate="30ps")
QUOTA = CurrentPolicy(
    proxy="orders", name="Q-App", kind="Quota", identifier="client_id", allow=100,
    allow_ref="verifyapikey.VA.apiproduct.developer.quota.limit", interval=1, time_unit="hour",
)  # fmt: skip
BAD_RATE = CurrentPolicy(proxy="orders", name="SA-Ref", kind="SpikeArrest", rate_ref="flow.rate")


def test_a_bundle_spike_arrest_knows_its_rate_per_minute() -> None:
    now = CurrentLimit.from_bundle(SPIKE)
    assert (now.source, now.kind, now.policy, now.per_minute) == (
        "bundle",
        "SpikeArrest",
        "SA-Global",
        1800.0,
    )
    body = now.to_dict()
    assert body["rate"] == "30ps" and body["per_minute"] == 1800.0 and body["bundle"] == "orders"
    assert now.summary() == f"SA-Global {SPIKE.value_text()}"
    assert CurrentLimit.from_bundle(BAD_RATE).per_minute is None  # a ref rate is unknown


def test_a_bundle_quota_carries_the_allowance_the_logs_show() -> None:
    body = CurrentLimit.from_bundle(QUOTA, allow_inferred=37).to_dict()
    assert body["allow"] == 100 and body["type"] == "default" and "per_minute" not in body
    assert list(body)[-1] == "allow_inferred" and body["allow_inferred"] == 37


@pytest.mark.parametrize(
    ("now", "keys", "summary"),
    [
        (
            CurrentLimit("logs", "SpikeArrest", None, None,
                         refusals=(Refusal("SA-A", 5), Refusal("SA-B", 2)), note="n"),
            ["source", "policies", "value", "note"],
            "SA-A, SA-B (value unknown)",
        ),
        (
            CurrentLimit("logs", "Quota", "Q-X", "~37 per hour (inferred from the logs)",
                         allow_inferred=37, refusals=(Refusal("Q-X", 9),), note="n"),
            ["source", "policy", "refused", "value", "note", "allow_inferred"],
            "Q-X ~37 per hour (inferred from the logs); ~37/hour seen in the logs",
        ),
        (
            CurrentLimit("logs", "SpikeArrest", "SA-X", None, refusals=(Refusal("SA-X", 4),), note="n"),
            ["source", "policy", "refused", "value", "note"],
            "SA-X (value unknown)",
        ),
    ],
)  # fmt: skip
def test_limits_seen_only_in_the_logs_keep_their_json_shape(now, keys, summary) -> None:
    assert list(now.to_dict()) == keys
    assert now.summary() == summary
    assert now.refused == sum(r.refused for r in now.refusals) and now.per_minute is None
